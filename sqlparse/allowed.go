package sqlparse

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/conncat/conncat/internal/sqlstate"
)

// The gate is an allow-list: a node of a type not named here is refused,
// whatever TiDB's grammar grows, so that nothing reaches SQLite that the
// gate did not look at. The types that need more than their type to be
// allowed (a table's name, a function's, an operator) are checked by the
// gate's Enter first.

// allowedNode reports whether a node of n's type may appear in a query.
func allowedNode(n ast.Node) bool {
	switch n.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt, *ast.SetOprSelectList, *ast.WithClause, *ast.CommonTableExpression,
		*ast.SubqueryExpr, *ast.ExistsSubqueryExpr,
		*ast.FieldList, *ast.SelectField, *ast.WildCardField,
		*ast.TableRefsClause, *ast.Join, *ast.TableSource, *ast.TableName, *ast.OnCondition,
		*ast.GroupByClause, *ast.HavingClause, *ast.OrderByClause, *ast.ByItem, *ast.Limit,
		*ast.ColumnNameExpr, *ast.ColumnName, *ast.PositionExpr,
		*ast.BinaryOperationExpr, *ast.UnaryOperationExpr, *ast.ParenthesesExpr, *ast.BetweenExpr,
		*ast.CaseExpr, *ast.WhenClause, *ast.IsNullExpr, *ast.IsTruthExpr, *ast.PatternInExpr,
		*ast.PatternLikeOrIlikeExpr, *ast.RowExpr,
		*ast.FuncCallExpr, *ast.AggregateFuncExpr, *ast.WindowFuncExpr, *ast.FuncCastExpr,
		*ast.WindowSpec, *ast.PartitionByClause, *ast.FrameClause, *ast.FrameBound,
		*driver.ValueExpr, *driver.ParamMarkerExpr, *param:
		return true
	}
	return false
}

// refuseNode is the error for a node of a type the gate does not allow,
// naming the construct in words where it has some.
func (g *gate) refuseNode(n ast.Node) (ast.Node, bool) {
	what, hint := nodeWords(n)
	g.fail(n, sqlstate.FeatureNotSupported, "%s is not supported in catalog queries", what)
	g.err.Hint = hint
	return n, true
}

// nodeWords names a refused construct for its error, with a hint.
func nodeWords(n ast.Node) (what, hint string) {
	switch n.(type) {
	case *ast.PatternRegexpExpr:
		return "REGEXP", "Match with LIKE ('%' any text, '_' one character), or instr(s, 'part') > 0."
	case *ast.SetCollationExpr:
		return "COLLATE", "Text compares byte by byte; compare lower(a) = lower(b) to ignore case."
	case *ast.TimeUnitExpr, *ast.GetFormatSelectorExpr:
		return "INTERVAL and date units", "Use datetime(t, '+1 day') or julianday(a) - julianday(b)."
	case *ast.MatchAgainst:
		return "MATCH ... AGAINST", "Match with LIKE ('%' any text, '_' one character)."
	case *ast.DefaultExpr:
		return "DEFAULT", ""
	case *ast.ValuesExpr:
		return "VALUES()", ""
	case *ast.VariableExpr:
		return "variables", ""
	case *ast.MaxValueExpr:
		return "MAXVALUE", ""
	case *ast.TableNameExpr:
		return "a table name as a value", ""
	}
	name := strings.TrimPrefix(fmt.Sprintf("%T", n), "*ast.")
	return strings.TrimSuffix(name, "Expr"), ""
}

// refusedOperators are the operators TiDB's grammar reads that SQLite
// does not (or reads otherwise), with what to write instead.
var refusedOperators = map[opcode.Op]struct{ spelling, hint string }{
	opcode.IntDiv:   {"DIV", "Divide integers with /, which drops the remainder: 7 / 2 is 3."},
	opcode.LogicXor: {"XOR", "Write (a OR b) AND NOT (a AND b)."},
	opcode.NullEQ:   {"<=>", "Write (a = b OR (a IS NULL AND b IS NULL))."},
	opcode.Xor:      {"^", "Bitwise XOR is not available; write (a | b) - (a & b)."},
	opcode.Not2:     {"!", "Write NOT."},
	opcode.Regexp:   {"REGEXP", "Match with LIKE ('%' any text, '_' one character)."},
}

// gateOperator refuses an operator of refusedOperators, pointing at it.
func (g *gate) gateOperator(n ast.Node, op opcode.Op) (ast.Node, bool) {
	refused, ok := refusedOperators[op]
	if !ok {
		return n, false
	}
	g.fail(n, sqlstate.FeatureNotSupported, "operator %s is not supported in catalog queries", refused.spelling)
	g.err.Hint = refused.hint
	if i := strings.Index(strings.ToUpper(g.piece.Text), refused.spelling); i >= 0 {
		g.err.Position = g.piece.Offset + i
	}
	return n, true
}
