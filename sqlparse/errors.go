package sqlparse

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is the one error type of the dialect: a PostgreSQL SQLSTATE, a
// message that names the offending thing, optional detail and hint, and the
// byte offset of the offending token in the script given to Parse.
//
// Messages never contain the value of a secret: parse errors refer to string
// literals by position, not by content.
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

// Caret renders the line of sql holding the error with a caret under the
// offending byte. String literals that may hold secrets are redacted first
// (see RedactSource), so the display is safe to show and log even when the
// statement did not parse. It returns "" when the error has no position.
func (e *Error) Caret(sql string) string {
	if e.Position < 0 || e.Position > len(sql) {
		return ""
	}
	redacted, pos := RedactSourceAt(sql, e.Position)
	start := strings.LastIndexByte(redacted[:pos], '\n') + 1
	end := strings.IndexByte(redacted[pos:], '\n')
	if end < 0 {
		end = len(redacted)
	} else {
		end += pos
	}
	before, after := clipLine(redacted[start:pos], redacted[pos:end])
	line := before + after
	// Tabs keep their width under the caret so it lines up in a terminal.
	var pad strings.Builder
	for _, c := range before {
		if c == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	return line + "\n" + pad.String() + "^"
}

// A line longer than maxCaretLine characters is shown clipped to
// caretContext characters on each side of the caret (a generated 4 MiB
// one-line statement must not print 4 MiB, twice).
const (
	maxCaretLine = 400
	caretContext = 150
)

// clipLine shortens the parts of a long line before and after the caret
// to caretContext characters each, marking a cut with "...".
func clipLine(before, after string) (string, string) {
	if utf8.RuneCountInString(before)+utf8.RuneCountInString(after) <= maxCaretLine {
		return before, after
	}
	if n := utf8.RuneCountInString(before); n > caretContext {
		cut := 0
		for i := 0; i < n-caretContext; i++ {
			_, size := utf8.DecodeRuneInString(before[cut:])
			cut += size
		}
		before = "..." + before[cut:]
	}
	if utf8.RuneCountInString(after) > caretContext {
		cut := 0
		for i := 0; i < caretContext; i++ {
			_, size := utf8.DecodeRuneInString(after[cut:])
			cut += size
		}
		after = after[:cut] + "..."
	}
	return before, after
}

// CaretIn is Caret for an error raised on piece p of script. It reads only
// the piece and the rest of its last line, so reporting an error for every
// statement of a long script stays linear in the script's length (Caret
// reads the whole script). Text before the piece on its first line is not
// shown.
func (e *Error) CaretIn(script string, p Piece) string {
	if e.Position < p.Offset || e.Position > p.Offset+len(p.Text) {
		return e.Caret(script)
	}
	// The window starts where the piece does (outside any literal, so it
	// lexes as the whole script would) and ends with the line, to show
	// the ';' and whatever else was typed on it.
	end := p.Offset + len(p.Text)
	if nl := strings.IndexByte(script[end:], '\n'); nl >= 0 {
		end += nl
	} else {
		end = len(script)
	}
	rebased := *e
	rebased.Position -= p.Offset
	return rebased.Caret(script[p.Offset:end])
}

// Locate fills in Line and Column from Position for an error raised on a
// statement parsed from src (errors from Parse already have them; errors
// raised later, by the catalog, get them here).
func (e *Error) Locate(src string) {
	e.Line, e.Column = lineCol(src, e.Position)
}

// lineCol converts a byte offset into 1-based line and column (in runes).
func lineCol(src string, pos int) (line, col int) {
	if pos < 0 || pos > len(src) {
		return 0, 0
	}
	line = 1 + strings.Count(src[:pos], "\n")
	lineStart := strings.LastIndexByte(src[:pos], '\n') + 1
	col = 1 + len([]rune(src[lineStart:pos]))
	return line, col
}

func newError(code string, pos int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Position: pos}
}

// WithHint sets the hint and returns e, for building errors in one expression.
func (e *Error) WithHint(h string) *Error { e.Hint = h; return e }

// WithDetail sets the detail and returns e.
func (e *Error) WithDetail(d string) *Error { e.Detail = d; return e }
