package sqlparse

import (
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	tidbformat "github.com/pingcap/tidb/pkg/parser/format"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

// MaxParams is the highest parameter number a query may use, as in
// PostgreSQL (its wire protocol counts parameters in 16 bits).
const MaxParams = 65535

// dollarParams finds a query's $n parameters (outside literals, quoted
// names and comments) and returns its text with each one replaced by '?'
// and spaces, keeping every offset, since TiDB reads '?' as a parameter
// and "$1" as a name; numbers maps each '?' offset to its n.
func dollarParams(piece Piece) (text string, numbers map[int]int, err *sqlerror.Error) {
	src := piece.Text
	var b []byte
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuotedRun(src, i)
		case c == '-' && isLineComment(src[i:]), c == '#':
			i = skipTo(src, i, "\n")
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			i = skipTo(src, i+2, "*/") + 1
		case c == '$' && (i == 0 || !isIdentPart(src[i-1])):
			end := i + 1
			for end < len(src) && src[end] >= '0' && src[end] <= '9' {
				end++
			}
			if end == i+1 || end < len(src) && isIdentPart(src[end]) {
				continue // a name such as $x or $1x, as TiDB reads it
			}
			n, convErr := strconv.Atoi(src[i+1 : end])
			if convErr != nil || n < 1 || n > MaxParams {
				return "", nil, sqlerror.New(sqlstate.UndefinedParameter, piece.Offset+i, "there is no parameter %s", src[i:end]).
					WithHint("Parameters are numbered from $1 to $" + strconv.Itoa(MaxParams) + ".")
			}
			if b == nil {
				b, numbers = []byte(src), map[int]int{}
			}
			b[i] = '?'
			for j := i + 1; j < end; j++ {
				b[j] = ' '
			}
			numbers[i] = n
			i = end - 1
		}
	}
	if b == nil {
		return src, nil, nil
	}
	return string(b), numbers, nil
}

// isLineComment reports whether s starts a "--" comment as TiDB (MySQL)
// reads one: "--" then a blank or control character, or the end. "--x" is
// two minus signs, and what follows may be a string literal whose "$1"
// must stay as typed.
func isLineComment(s string) bool {
	return strings.HasPrefix(s, "--") && (len(s) == 2 || s[2] <= ' ')
}

// skipQuotedRun returns the offset of the quote that closes the run
// opened at i (a doubled quote inside is part of the run), or the last
// offset.
func skipQuotedRun(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] != q {
			continue
		}
		if j+1 < len(s) && s[j+1] == q {
			j++
			continue
		}
		return j
	}
	return len(s) - 1
}

// skipTo returns the offset of the last byte before end (or of the
// string's last byte) at or after i.
func skipTo(s string, i int, end string) int {
	if k := strings.Index(s[i:], end); k >= 0 {
		return i + k + len(end) - 1
	}
	return len(s) - 1
}

// param is a $n parameter in a gated query: it restores as $n in the
// query's canonical text and as SQLite's ?n for the database, which binds
// the n-th argument there whatever the order parameters appear in.
type param struct {
	*driver.ParamMarkerExpr
	number int
	target *restoreTarget
}

func (p *param) Restore(ctx *tidbformat.RestoreCtx) error {
	if *p.target == forSQLite {
		ctx.WritePlain("?" + strconv.Itoa(p.number))
	} else {
		ctx.WritePlain("$" + strconv.Itoa(p.number))
	}
	return nil
}

// Accept shows the visitor the param itself, not the marker it wraps, so
// that a rewrite leaves it in place.
func (p *param) Accept(v ast.Visitor) (ast.Node, bool) {
	n, skip := v.Enter(p)
	if skip {
		return v.Leave(n)
	}
	return v.Leave(p)
}

// Params is the number of values the query takes: the highest n of its $n
// parameters, 0 without any.
func (q *Query) Params() int { return q.params }

// Params is the number of values a statement takes: only a SELECT has
// parameters.
func Params(stmt Statement) int {
	if q, ok := stmt.(*Query); ok {
		return q.params
	}
	return 0
}

// CheckArgs reports a statement given the wrong number of values for its
// parameters (42601, as PostgreSQL's EXECUTE does).
func CheckArgs(stmt Statement, given int) *sqlerror.Error {
	want := Params(stmt)
	if want == given {
		return nil
	}
	e := sqlerror.New(sqlstate.SyntaxError, stmt.Pos(), "wrong number of parameters: the statement takes %d, %d given", want, given)
	if want == 0 {
		e.Hint = "Only SELECT takes parameters ($1, $2, ...); other statements take their values in the text."
	}
	return e
}
