package sqlparse

import (
	"strings"
	"unicode/utf8"

	"github.com/conncat/conncat/sqlerror"
)

// Caret renders the line of sql holding error e with a caret under the
// offending byte. String literals that may hold secrets are redacted first
// (see RedactSource), so the display is safe to show and log even when the
// statement did not parse. It returns "" when the error has no position.
func Caret(e *sqlerror.Error, sql string) string {
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

// CaretIn is Caret for an error e raised on piece p of script. It reads only
// the piece and the rest of its last line, so reporting an error for every
// statement of a long script stays linear in the script's length (Caret
// reads the whole script). Text before the piece on its first line is not
// shown.
func CaretIn(e *sqlerror.Error, script string, p Piece) string {
	if e.Position < p.Offset || e.Position > p.Offset+len(p.Text) {
		return Caret(e, script)
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
	return Caret(&rebased, script[p.Offset:end])
}
