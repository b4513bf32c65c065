package sqlparse

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	tidbformat "github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/model"
)

// Rows is a table whose rows the process supplies rather than the
// database stores (mz_aws_connection_statuses: the health of this
// process's credentials). A restore writes a reference to it as a derived
// table of literals,
//
//	(SELECT conncat_rows.column1 AS id, ... FROM (VALUES ('u1', ...), ...) AS conncat_rows) AS name
//
// which both databases read alike (both name a VALUES list's columns
// column1, column2, ...) and which reads no table, so the stores' second
// layers have nothing to allow. A VALUES list, not a UNION ALL of SELECTs:
// SQLite refuses a compound SELECT of more than 500 terms, and has no
// such limit on VALUES rows. Values are string, int64 or nil.
type Rows struct {
	Columns []string
	Values  [][]any
}

// tableSources maps every table name in stmt to the FROM item that holds
// it, so that a restore can put a derived table in its place.
func tableSources(stmt ast.Node) map[*ast.TableName]*ast.TableSource {
	v := &sourceFinder{found: map[*ast.TableName]*ast.TableSource{}}
	stmt.Accept(v)
	return v.found
}

type sourceFinder struct {
	found map[*ast.TableName]*ast.TableSource
}

func (v *sourceFinder) Enter(n ast.Node) (ast.Node, bool) {
	if ts, ok := n.(*ast.TableSource); ok {
		if tn, ok := ts.Source.(*ast.TableName); ok {
			v.found[tn] = ts
		}
	}
	return n, false
}

func (v *sourceFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// inline puts rows in place of the table name n for the duration of the
// restore. Without an alias the derived table is named as the table was,
// so that columns qualified with the table's name still resolve.
func (r *rewriter) inline(ts *ast.TableSource, n *ast.TableName, rows *Rows) error {
	if ts == nil {
		return fmt.Errorf("sqlparse: table %s is not in a FROM clause", n.Name.O)
	}
	source, alias := ts.Source, ts.AsName
	ts.Source = inlineRows{TableName: n, rows: rows}
	if alias.L == "" {
		ts.AsName = model.NewCIStr(n.Name.L)
	}
	r.undos = append(r.undos, func() { ts.Source, ts.AsName = source, alias })
	return nil
}

// inlineRows restores as a parenthesised SELECT of its rows. It embeds the
// table name only to be a result-set node; TableSource writes the alias.
type inlineRows struct {
	*ast.TableName
	rows *Rows
}

func (t inlineRows) Restore(ctx *tidbformat.RestoreCtx) error {
	ctx.WritePlain("(")
	ctx.WriteKeyWord("SELECT ")
	for j, col := range t.rows.Columns {
		if j > 0 {
			ctx.WritePlain(", ")
		}
		if len(t.rows.Values) == 0 {
			ctx.WriteKeyWord("NULL")
		} else {
			ctx.WriteName(rowsAlias)
			ctx.WritePlain(".")
			ctx.WriteName("column" + strconv.Itoa(j+1))
		}
		ctx.WriteKeyWord(" AS ")
		ctx.WriteName(col)
	}
	if len(t.rows.Values) == 0 {
		// No rows: the columns still exist, so a query naming them
		// compiles and returns nothing.
		ctx.WriteKeyWord(" WHERE ")
		ctx.WritePlain("1 = 0)")
		return nil
	}
	ctx.WriteKeyWord(" FROM (VALUES ")
	for i, row := range t.rows.Values {
		if i > 0 {
			ctx.WritePlain(", ")
		}
		ctx.WritePlain("(")
		for j := range t.rows.Columns {
			if j > 0 {
				ctx.WritePlain(", ")
			}
			var v any
			if j < len(row) {
				v = row[j]
			}
			writeLiteral(ctx, v)
		}
		ctx.WritePlain(")")
	}
	ctx.WritePlain(")")
	ctx.WriteKeyWord(" AS ")
	ctx.WriteName(rowsAlias)
	ctx.WritePlain(")")
	return nil
}

// rowsAlias names the VALUES list inside the derived table: a conncat_
// name, which no query's own CTE or alias may take (ReservedName).
const rowsAlias = "conncat_rows"

// writeLiteral writes a value as a literal both databases read as the
// same value. Text is made valid UTF-8 without NUL (PostgreSQL refuses
// both in a string): the values are the process's own messages, and a
// stray byte must not fail the query that shows them.
func writeLiteral(ctx *tidbformat.RestoreCtx, v any) {
	switch v := v.(type) {
	case nil:
		ctx.WriteKeyWord("NULL")
	case int64:
		ctx.WritePlain(strconv.FormatInt(v, 10))
	case string:
		ctx.WriteString(strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", ""))
	default:
		ctx.WriteString(fmt.Sprint(v))
	}
}
