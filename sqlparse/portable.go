package sqlparse

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/conncat/conncat/internal/sqlstate"
)

// This file holds the gate's rules for forms that TiDB's grammar reads
// but SQLite, the one engine every store runs SELECT in, does not, or
// reads otherwise than a MySQL or PostgreSQL user would expect: such a
// query is refused with a hint to the form that works.

// gateSetOperands refuses operands of UNION, INTERSECT and EXCEPT that
// SQLite cannot read: a parenthesised SELECT with its own ORDER BY or
// LIMIT, and a parenthesised set operation. (Parentheses around a plain
// SELECT are dropped for SQLite at restore.)
func (g *gate) gateSetOperands(list *ast.SetOprSelectList) {
	if list == nil {
		return
	}
	for _, operand := range list.Selects {
		switch s := operand.(type) {
		case *ast.SelectStmt:
			if s.IsInBraces && (s.OrderBy != nil || s.Limit != nil) {
				g.fail(s, sqlstate.FeatureNotSupported, "a parenthesised SELECT with ORDER BY or LIMIT inside a set operation is not supported in catalog queries")
				g.err.Hint = "Select from it as a subquery: SELECT * FROM (SELECT ... LIMIT 1) AS first UNION SELECT ..."
				return
			}
		case *ast.SetOprSelectList:
			g.fail(list, sqlstate.FeatureNotSupported, "a parenthesised UNION, INTERSECT or EXCEPT inside another is not supported in catalog queries")
			g.err.Hint = "Select from it as a subquery: SELECT ... UNION SELECT * FROM (SELECT ... UNION SELECT ...) AS inner_set."
			return
		}
	}
}

// gateTrim refuses TRIM's FROM forms (TRIM(BOTH 'x' FROM s)): SQLite has
// only trim(s) and trim(s, chars).
func (g *gate) gateTrim(n *ast.FuncCallExpr) bool {
	if n.FnName.L != "trim" || len(n.Args) <= 1 {
		return false
	}
	g.fail(n, sqlstate.FeatureNotSupported, "TRIM with FROM is not supported in catalog queries")
	g.err.Hint = "Use ltrim(s, 'x') and rtrim(s, 'x'), or both: ltrim(rtrim(s, 'x'), 'x')."
	return true
}

// gateLiteral refuses hexadecimal and bit literals (X'41', 0x41, b'1'):
// SQLite reads them as bytes or not at all, where MySQL and PostgreSQL
// read numbers or bit strings.
func (g *gate) gateLiteral(n *driver.ValueExpr) bool {
	switch n.Kind() {
	case driver.KindBinaryLiteral, driver.KindMysqlBit:
		g.fail(n, sqlstate.FeatureNotSupported, "hexadecimal and bit literals are not supported in catalog queries")
		g.err.Hint = "Write the value as text ('A') or a number (65)."
		return true
	}
	return false
}

// unbraceForSQLite drops the parentheses around a plain SELECT, which
// SQLite's grammar has no place for ("(SELECT a FROM t) UNION ..."), and
// around a whole query; the gate refused set operands whose parentheses
// carry an ORDER BY or LIMIT.
func (r *rewriter) unbraceForSQLite(n *ast.SelectStmt) {
	whole := ast.Node(n) == r.root
	if !n.IsInBraces || !whole && (n.OrderBy != nil || n.Limit != nil) {
		return
	}
	n.IsInBraces = false
	r.undos = append(r.undos, func() { n.IsInBraces = true })
}
