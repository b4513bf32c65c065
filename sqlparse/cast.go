package sqlparse

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
	tidbformat "github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	tidbtypes "github.com/pingcap/tidb/pkg/parser/types"

	"github.com/conncat/conncat/internal/sqlstate"
)

// castTarget is the SQLite type a CAST's target names, or ok false for a
// target the gate refuses. TiDB writes MySQL's names, which SQLite reads
// by its own affinity rules (CAST(x AS SIGNED) would be NUMERIC, keeping
// a fraction): only targets with one clear meaning are allowed, written
// as SQLite's types.
func castTarget(tp *tidbtypes.FieldType) (string, bool) {
	unsized := tp.GetFlen() == tidbtypes.UnspecifiedLength
	switch tp.GetType() {
	case mysql.TypeVarString, mysql.TypeString, mysql.TypeVarchar:
		if unsized && tp.GetCharset() != "binary" {
			return "TEXT", true // CAST(x AS CHAR)
		}
	case mysql.TypeLonglong:
		return "INTEGER", true // SIGNED, UNSIGNED
	case mysql.TypeDouble, mysql.TypeFloat:
		return "REAL", true
	}
	return "", false
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

// storeCast restores a CAST with its target named as SQLite's type; it
// is put in its node's place by the rewriter's Leave (so the parent holds
// it for the restore) and taken out again by unwrapCasts.
type storeCast struct {
	*ast.FuncCastExpr
	name string
}

func (c storeCast) Restore(ctx *tidbformat.RestoreCtx) error {
	ctx.WriteKeyWord("CAST(")
	if err := c.FuncCastExpr.Expr.Restore(ctx); err != nil {
		return err
	}
	ctx.WriteKeyWord(" AS " + c.name + ")")
	return nil
}

// castFor is n as SQLite writes it.
func (r *rewriter) castFor(n *ast.FuncCastExpr) ast.Node {
	name, ok := castTarget(n.Tp)
	if !ok {
		return n // the gate refused it; nothing to restore
	}
	r.castsWrapped = true
	return storeCast{FuncCastExpr: n, name: name}
}

// unwrapCasts puts the original CAST nodes back: walking a storeCast
// visits the node it embeds, and every parent takes back what Leave
// returns.
type unwrapCasts struct{}

func (unwrapCasts) Enter(n ast.Node) (ast.Node, bool) { return n, false }
func (unwrapCasts) Leave(n ast.Node) (ast.Node, bool) { return n, true }
