package sqlparse

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
	tidbformat "github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	tidbtypes "github.com/pingcap/tidb/pkg/parser/types"

	"github.com/conncat/conncat/internal/sqlstate"
)

// castType is what a CAST's target is written as for each store. TiDB
// writes MySQL's names, which PostgreSQL reads otherwise or not at all:
// CAST(x AS CHAR) is char(1) there, silently cutting the value to one
// character; SIGNED is no type. Only targets that mean the same on both
// stores are allowed.
type castType struct {
	sqlite, postgres string
	// truncate: PostgreSQL rounds a fraction cast to an integer, SQLite
	// cuts it toward zero; on PostgreSQL the value is truncated first.
	truncate bool
}

// castTarget is the store types of a CAST's target, or ok false for a
// target the gate refuses.
func castTarget(tp *tidbtypes.FieldType) (castType, bool) {
	unsized := tp.GetFlen() == tidbtypes.UnspecifiedLength
	switch tp.GetType() {
	case mysql.TypeVarString, mysql.TypeString, mysql.TypeVarchar:
		if unsized && tp.GetCharset() != "binary" {
			return castType{sqlite: "TEXT", postgres: "TEXT"}, true // CAST(x AS CHAR)
		}
	case mysql.TypeLonglong:
		return castType{sqlite: "INTEGER", postgres: "BIGINT", truncate: true}, true // SIGNED, UNSIGNED
	case mysql.TypeDouble, mysql.TypeFloat:
		return castType{sqlite: "REAL", postgres: "DOUBLE PRECISION"}, true
	}
	return castType{}, false
}

// gateCast refuses CONVERT, BINARY and casts to types that do not mean the
// same on both stores.
func (g *gate) gateCast(n *ast.FuncCastExpr) (ast.Node, bool) {
	if n.FunctionType != ast.CastFunction {
		g.fail(n, sqlstate.FeatureNotSupported, "CONVERT and BINARY are not supported in catalog queries")
		g.err.Hint = "Write CAST(x AS CHAR), CAST(x AS SIGNED) or CAST(x AS DOUBLE)."
		return n, true
	}
	if _, ok := castTarget(n.Tp); !ok {
		g.fail(n, sqlstate.FeatureNotSupported, "CAST to %s is not supported in catalog queries", n.Tp.String())
		g.err.Hint = "Cast to CHAR (text), SIGNED (a 64-bit integer) or DOUBLE; cut text with substr."
		return n, true
	}
	return n, false
}

// storeCast restores a CAST with its target named for the store; it is
// put in its node's place by the rewriter's Leave (so the parent holds it
// for the restore) and taken out again by unwrapCasts.
type storeCast struct {
	*ast.FuncCastExpr
	name string
	// truncate writes CAST(TRUNC(CAST(x AS NUMERIC)) AS name), which also
	// reads text ('12') as SQLite's integer cast does.
	truncate bool
}

func (c storeCast) Restore(ctx *tidbformat.RestoreCtx) error {
	ctx.WriteKeyWord("CAST(")
	if c.truncate {
		ctx.WriteKeyWord("TRUNC(CAST(")
	}
	if err := c.FuncCastExpr.Expr.Restore(ctx); err != nil {
		return err
	}
	if c.truncate {
		ctx.WriteKeyWord(" AS NUMERIC))")
	}
	ctx.WriteKeyWord(" AS " + c.name + ")")
	return nil
}

// castFor is n as the target store writes it.
func (r *rewriter) castFor(n *ast.FuncCastExpr) ast.Node {
	t, ok := castTarget(n.Tp)
	if !ok {
		return n // the gate refused it; nothing to restore
	}
	r.castsWrapped = true
	if r.target == forSQLite {
		return storeCast{FuncCastExpr: n, name: t.sqlite}
	}
	return storeCast{FuncCastExpr: n, name: t.postgres, truncate: t.truncate}
}

// unwrapCasts puts the original CAST nodes back: walking a storeCast
// visits the node it embeds, and every parent takes back what Leave
// returns.
type unwrapCasts struct{}

func (unwrapCasts) Enter(n ast.Node) (ast.Node, bool) { return n, false }
func (unwrapCasts) Leave(n ast.Node) (ast.Node, bool) { return n, true }
