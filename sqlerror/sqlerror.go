// Package sqlerror is the one error type of conncat: what a statement, a
// connection or a catalog did wrong, as PostgreSQL reports it — a
// SQLSTATE, a message that names the offending thing, optional detail and
// hint, and where in the statement. Every package returns it and the root
// re-exports it (conncat.Error), as pgconn's PgError or CockroachDB's
// pgerror carry PostgreSQL's fields for their callers. It depends on
// nothing of conncat's, so the parser, the catalog and the stores share it
// without depending on each other.
//
// Messages never contain the value of a secret: parse errors refer to
// string literals by position, not by content. Showing the statement under
// an error (sqlparse.Caret) redacts its literals with the dialect's lexer.
package sqlerror

import (
	"fmt"
	"strings"
)

// Error is a SQLSTATE error.
type Error struct {
	Code    string
	Message string
	Detail  string
	Hint    string
	// Position is the 0-based byte offset in the parsed text, or -1 when the
	// error has no position.
	Position int
	// Line and Column are 1-based, computed from Position; 0 when unknown.
	Line, Column int
	// Err is the cause, if any, for errors.Is and errors.As (a sentinel
	// such as catalog.ErrKeyMismatch). Never shown: Message says it.
	Err error
}

// New builds an error at byte offset pos (-1: none), its message formatted.
func New(code string, pos int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Position: pos}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d, column %d", e.Line, e.Column)
	}
	return b.String()
}

// WithHint sets the hint and returns e, for building errors in one expression.
func (e *Error) WithHint(h string) *Error { e.Hint = h; return e }

// WithDetail sets the detail and returns e.
func (e *Error) WithDetail(d string) *Error { e.Detail = d; return e }

// Locate fills in Line and Column from Position for an error raised on a
// statement parsed from src (errors from parsing already have them; errors
// raised later, by the catalog, get them here).
func (e *Error) Locate(src string) {
	e.Line, e.Column = LineCol(src, e.Position)
}

// LineCol converts a byte offset into 1-based line and column (in runes);
// 0, 0 for an offset outside src.
func LineCol(src string, pos int) (line, col int) {
	if pos < 0 || pos > len(src) {
		return 0, 0
	}
	line = 1 + strings.Count(src[:pos], "\n")
	lineStart := strings.LastIndexByte(src[:pos], '\n') + 1
	col = 1 + len([]rune(src[lineStart:pos]))
	return line, col
}
