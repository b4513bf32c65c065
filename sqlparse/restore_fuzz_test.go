package sqlparse

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// sqliteOps are the operators whose meaning SQLite and the parsed tree
// share; referenceSQL writes them with their operands in parentheses.
var sqliteOps = map[opcode.Op]string{
	opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/", opcode.Mod: "%",
	opcode.And: "&", opcode.Or: "|", opcode.LeftShift: "<<", opcode.RightShift: ">>",
	opcode.EQ: "=", opcode.NE: "!=", opcode.LT: "<", opcode.LE: "<=", opcode.GT: ">", opcode.GE: ">=",
	opcode.LogicAnd: "AND", opcode.LogicOr: "OR",
}

// referenceSQL writes an expression tree for SQLite independently of
// TiDB's restore: every operation in parentheses, so the text can only
// mean the tree. ok is false for nodes outside the arithmetic subset.
func referenceSQL(e ast.ExprNode) (string, bool) {
	switch e := e.(type) {
	case *driver.ValueExpr:
		return fmt.Sprintf("(%v)", e.GetValue()), true
	case *ast.ParenthesesExpr:
		return referenceSQL(e.Expr)
	case *ast.UnaryOperationExpr:
		v, ok := referenceSQL(e.V)
		switch e.Op {
		case opcode.Minus:
			return "(-" + v + ")", ok
		case opcode.Plus:
			return "(+" + v + ")", ok
		case opcode.BitNeg:
			return "(~" + v + ")", ok
		case opcode.Not, opcode.Not2:
			return "(NOT " + v + ")", ok
		}
	case *ast.BinaryOperationExpr:
		op, known := sqliteOps[e.Op]
		l, okL := referenceSQL(e.L)
		r, okR := referenceSQL(e.R)
		return "(" + l + " " + op + " " + r + ")", known && okL && okR
	}
	return "", false
}

var exprTokens = []string{"1", "2", "0", "7", "-", "+", "*", "/", "%", "&", "|", "<<", ">>", "=", "<", ">=", "!=",
	"NOT", "AND", "OR", "~", "(", ")", "- -", "--1", " ", "-1"}

// FuzzRestoreMeansTheTree is the differential check of the restore: for
// an arithmetic expression as typed, the value SQLite computes from the
// restored query equals the value it computes from the parsed tree written
// independently (referenceSQL). A restore that let SQLite read a comment,
// or another precedence, into the text would differ.
func FuzzRestoreMeansTheTree(f *testing.F) {
	f.Add([]byte{0, 4, 26})          // 1 - -1
	f.Add([]byte{0, 10, 1, 9, 2})    // 1 | 2 & 0
	f.Add([]byte{17, 0, 13, 1})      // NOT 1 = 2
	f.Add([]byte{0, 4, 24, 0, 6, 1}) // 1 - --1 * 2
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	eval := func(query string) string {
		var v any
		if err := db.QueryRow(query).Scan(&v); err != nil {
			return "error"
		}
		return fmt.Sprint(v)
	}
	f.Fuzz(func(t *testing.T, picks []byte) {
		var b strings.Builder
		for _, p := range picks[:min(len(picks), 24)] {
			b.WriteString(exprTokens[int(p)%len(exprTokens)])
			b.WriteByte(' ')
		}
		stmts, err := Parse("SELECT " + b.String())
		if err != nil || len(stmts) != 1 {
			return
		}
		q := stmts[0].(*Query)
		sel, ok := q.stmt.(*ast.SelectStmt)
		if !ok || sel.Fields == nil || len(sel.Fields.Fields) != 1 || sel.Fields.Fields[0].Expr == nil {
			return
		}
		ref, ok := referenceSQL(sel.Fields.Fields[0].Expr)
		if !ok {
			return
		}
		restored, err := q.SQLite(func(TableRef) error { return nil })
		if err != nil {
			t.Fatalf("restore %q: %v", b.String(), err)
		}
		if got, want := eval(restored), eval("SELECT "+ref); got != want {
			t.Fatalf("typed:    SELECT %s\nrestored: %s = %s\ntree:     SELECT %s = %s", b.String(), restored, got, ref, want)
		}
	})
}
