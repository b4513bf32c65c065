package sqlparse

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
	"github.com/pingcap/tidb/pkg/parser/types"
)

// Type is the type of a value conncat returns or takes, by PostgreSQL's
// name for it.
type Type string

// The types of catalog values: SQLite's text, integer, real and blob, and
// JSON for the IAM policy columns (text whose content is a document).
const (
	TypeText   Type = "text"
	TypeInt8   Type = "int8"
	TypeFloat8 Type = "float8"
	TypeBytea  Type = "bytea"
	TypeJSON   Type = "json"
)

// Shape is what can be learnt of a query without running it.
type Shape struct {
	// Query returns q's columns and no row: q with its outermost LIMIT
	// made zero (any LIMIT it had kept inside, so its parameters stay),
	// which SQLite answers by compiling it and stopping before the first
	// row. Bind every parameter (any value: nothing is computed).
	Query *Query
	// Fields are the types of the outermost select list's fields known
	// from the tree alone ("" where the column's own type decides);
	// Wildcard says a * among them makes the positions after it unknown.
	Fields   []Type
	Wildcard bool
	// Params is the type each $n takes from where it stands, $1 first.
	Params []Type
}

// Shape parses q's text again, privately (q itself is shared and
// read-only), and works out its shape; intColumn tells which catalog
// columns hold integers, for the parameters compared with them.
func (q *Query) Shape(intColumn func(name string) bool) (*Shape, error) {
	s, err := parseQueryText(Piece{Text: q.text, Offset: q.offset})
	if err != nil {
		return nil, err
	}
	t := &typer{intColumn: intColumn, params: make([]Type, s.params)}
	s.stmt.Accept(&paramTyper{t: t})
	for i, p := range t.params {
		if p == "" {
			t.params[i] = TypeText // what a driver can always send
		}
	}
	shape := &Shape{Query: s, Params: t.params}
	shape.Fields, shape.Wildcard = t.fields(firstSelect(s.stmt))
	limitZero(s.stmt)
	s.sqlite, s.sqliteErr = s.restore(func(t TableRef) (string, error) { return t.Name, nil }, forSQLite)
	return shape, nil
}

// firstSelect is the SELECT whose fields name a query's columns: the
// first of a set operation's.
func firstSelect(n ast.StmtNode) *ast.SelectStmt {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return n
	case *ast.SetOprStmt:
		if n.SelectList != nil && len(n.SelectList.Selects) > 0 {
			if first, ok := n.SelectList.Selects[0].(ast.StmtNode); ok {
				return firstSelect(first)
			}
		}
	}
	return nil
}

// limitZero makes the outermost LIMIT zero: LIMIT 0 * (n) keeps a
// parameter n in the text, so the query still takes as many values.
func limitZero(n ast.StmtNode) {
	zero := ast.NewValueExpr(int64(0), "", "")
	limit := &ast.Limit{Count: zero}
	var old **ast.Limit
	switch n := n.(type) {
	case *ast.SelectStmt:
		old = &n.Limit
	case *ast.SetOprStmt:
		old = &n.Limit
	default:
		return
	}
	if *old != nil {
		limit.Count = &ast.BinaryOperationExpr{Op: opcode.Mul, L: zero, R: &ast.ParenthesesExpr{Expr: (*old).Count}}
		limit.Offset = (*old).Offset
	}
	*old = limit
}

// typer infers types from the tree.
type typer struct {
	intColumn func(string) bool
	params    []Type
}

// fields types a select list.
func (t *typer) fields(sel *ast.SelectStmt) (types []Type, wildcard bool) {
	if sel == nil || sel.Fields == nil {
		return nil, false
	}
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			return types, true
		}
		types = append(types, t.expr(f.Expr))
	}
	return types, false
}

// expr is an expression's type, or "" when only the value can tell (a
// column, whose declared type SQLite reports, or a mix).
func (t *typer) expr(e ast.ExprNode) Type {
	switch e := e.(type) {
	case *driver.ValueExpr:
		return valueType(e)
	case *param:
		if i := e.number - 1; i < len(t.params) {
			return t.params[i]
		}
		return ""
	case *ast.ParenthesesExpr:
		return t.expr(e.Expr)
	case *ast.ColumnNameExpr:
		if t.intColumn != nil && t.intColumn(e.Name.Name.L) {
			return TypeInt8
		}
		return ""
	case *ast.BinaryOperationExpr:
		return t.binary(e)
	case *ast.UnaryOperationExpr:
		if e.Op == opcode.Not || e.Op == opcode.Not2 {
			return TypeInt8
		}
		return t.expr(e.V)
	case *ast.IsNullExpr, *ast.IsTruthExpr, *ast.PatternInExpr, *ast.PatternLikeOrIlikeExpr, *ast.BetweenExpr, *ast.ExistsSubqueryExpr:
		return TypeInt8 // SQLite's truth values are the integers 0 and 1
	case *ast.FuncCastExpr:
		return castType(e)
	case *ast.AggregateFuncExpr:
		return t.aggregate(strings.ToLower(e.F), e.Args)
	case *ast.WindowFuncExpr:
		return t.aggregate(strings.ToLower(e.Name), e.Args)
	case *ast.FuncCallExpr:
		return t.function(strings.ToLower(e.FnName.L), e.Args)
	case *ast.CaseExpr:
		return t.caseType(e)
	case *ast.SubqueryExpr:
		if sel := firstSelectOf(e.Query); sel != nil {
			if types, wild := t.fields(sel); !wild && len(types) == 1 {
				return types[0]
			}
		}
	}
	return ""
}

func firstSelectOf(n ast.ResultSetNode) *ast.SelectStmt {
	if s, ok := n.(ast.StmtNode); ok {
		return firstSelect(s)
	}
	return nil
}

func valueType(v *driver.ValueExpr) Type {
	switch v.Datum.Kind() {
	case driver.KindInt64, driver.KindUint64:
		return TypeInt8
	case driver.KindFloat32, driver.KindFloat64, driver.KindMysqlDecimal:
		return TypeFloat8
	case driver.KindString, driver.KindBytes, driver.KindBinaryLiteral, driver.KindMysqlBit:
		return TypeText
	}
	return "" // NULL: the type of nothing
}

// binary types an operator: comparisons and logic give 0 or 1, arithmetic
// keeps integers integers and anything with a float a float, as SQLite
// computes them; || and everything else depend on the values.
func (t *typer) binary(e *ast.BinaryOperationExpr) Type {
	switch e.Op {
	case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE, opcode.LogicAnd, opcode.LogicOr, opcode.In, opcode.Like:
		return TypeInt8
	case opcode.Plus, opcode.Minus, opcode.Mul, opcode.Div, opcode.Mod, opcode.IntDiv:
		l, r := t.expr(e.L), t.expr(e.R)
		switch {
		case l == TypeInt8 && r == TypeInt8:
			return TypeInt8
		case (l == TypeFloat8 || l == TypeInt8) && (r == TypeFloat8 || r == TypeInt8):
			return TypeFloat8
		}
	}
	return ""
}

// castType is a CAST's target: SIGNED and UNSIGNED integers, DOUBLE,
// CHAR text (the gate allows no other).
func castType(e *ast.FuncCastExpr) Type {
	if e.Tp == nil {
		return ""
	}
	switch e.Tp.EvalType() {
	case types.ETInt:
		return TypeInt8
	case types.ETReal:
		return TypeFloat8
	case types.ETString:
		return TypeText
	}
	return ""
}

// aggregate types the aggregate and window functions the gate allows.
func (t *typer) aggregate(name string, args []ast.ExprNode) Type {
	switch name {
	case "count", "row_number", "rank", "dense_rank":
		return TypeInt8
	case "avg":
		return TypeFloat8
	case "sum", "min", "max":
		if len(args) == 1 {
			return t.expr(args[0])
		}
	}
	return ""
}

// function types the scalar functions the gate allows whose result has
// one type whatever their arguments.
func (t *typer) function(name string, args []ast.ExprNode) Type {
	switch name {
	case "length", "char_length", "instr", "unixepoch":
		return TypeInt8
	case "julianday":
		return TypeFloat8
	case "lower", "upper", "substr", "substring", "trim", "ltrim", "rtrim", "replace", "concat", "concat_ws",
		"hex", "typeof", "datetime", "date", "time", "strftime":
		return TypeText
	case "abs", "coalesce", "ifnull", "nullif", "max", "min":
		return t.same(args)
	}
	return ""
}

// same is the type every argument has, or "".
func (t *typer) same(args []ast.ExprNode) Type {
	var common Type
	for i, a := range args {
		ty := t.expr(a)
		if ty == "" || (i > 0 && ty != common) {
			return ""
		}
		common = ty
	}
	return common
}

func (t *typer) caseType(e *ast.CaseExpr) Type {
	results := make([]ast.ExprNode, 0, len(e.WhenClauses)+1)
	for _, w := range e.WhenClauses {
		results = append(results, w.Result)
	}
	if e.ElseClause != nil {
		results = append(results, e.ElseClause)
	}
	return t.same(results)
}

// paramTyper gives each $n the type of what it stands beside: the other
// side of a comparison or of arithmetic, or an integer in LIMIT and
// OFFSET. The first place that tells wins.
type paramTyper struct{ t *typer }

func (v *paramTyper) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.BinaryOperationExpr:
		v.pair(n.L, n.R)
		v.pair(n.R, n.L)
	case *ast.PatternInExpr:
		for _, item := range n.List {
			v.pair(item, n.Expr)
			v.pair(n.Expr, item)
		}
	case *ast.BetweenExpr:
		v.pair(n.Left, n.Expr)
		v.pair(n.Right, n.Expr)
	case *ast.Limit:
		v.integer(n.Count)
		v.integer(n.Offset)
	}
	return n, false
}

func (v *paramTyper) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// pair types e, if it is a parameter, as other.
func (v *paramTyper) pair(e, other ast.ExprNode) {
	if p, ok := e.(*param); ok {
		v.set(p, v.t.expr(other))
	}
}

func (v *paramTyper) integer(e ast.ExprNode) {
	if p, ok := e.(*param); ok {
		v.set(p, TypeInt8)
	}
}

func (v *paramTyper) set(p *param, ty Type) {
	if i := p.number - 1; i < len(v.t.params) && v.t.params[i] == "" && ty != "" {
		v.t.params[i] = ty
	}
}
