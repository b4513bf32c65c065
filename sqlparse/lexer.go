package sqlparse

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokQuotedIdent
	tokString
	tokNumber
	tokPunct // one of ( ) , ; = . and any other single byte
)

// token is one lexeme. For bare identifiers text is as written (fold it
// with folded; keywords are matched case-insensitively without folding, which
// keeps parsing free of allocations per keyword); for quoted identifiers and
// strings it is the unescaped value.
type token struct {
	kind tokenKind
	text string
	pos  int // byte offset of the token's first byte
	end  int // byte offset just past the token
}

// Limits that keep hostile input from costing unbounded memory or time.
const (
	MaxIdentifierLen = 255
	MaxStringLen     = 64 << 10
	MaxScriptLen     = 4 << 20
)

// lexer turns a script into tokens. It never fails on its own input shape
// except for unterminated strings, quoted identifiers and block comments,
// NUL bytes and invalid UTF-8, which it reports as *sqlerror.Error.
// folded returns the identifier as a name: bare words fold to lower case,
// quoted ones keep their case.
func (t token) folded() string {
	if t.kind == tokIdent {
		return strings.ToLower(t.text)
	}
	return t.text
}

type lexer struct {
	src string
	pos int
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() *sqlerror.Error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case c == '-' && strings.HasPrefix(l.src[l.pos:], "--"):
			end := strings.IndexByte(l.src[l.pos:], '\n')
			if end < 0 {
				l.pos = len(l.src)
			} else {
				l.pos += end + 1
			}
		case c == '/' && strings.HasPrefix(l.src[l.pos:], "/*"):
			// Block comments nest, as in PostgreSQL.
			start, depth := l.pos, 0
		comment:
			for {
				if l.pos >= len(l.src) {
					return sqlerror.New(sqlstate.SyntaxError, start, "unterminated /* comment")
				}
				switch {
				case strings.HasPrefix(l.src[l.pos:], "/*"):
					depth++
					l.pos += 2
				case strings.HasPrefix(l.src[l.pos:], "*/"):
					depth--
					l.pos += 2
				default:
					l.pos++
				}
				if depth == 0 {
					break comment
				}
			}
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) next() (token, *sqlerror.Error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case c == 0:
		return token{}, sqlerror.New(sqlstate.CharacterNotInRepert, start, "NUL byte in statement")
	case isIdentStart(c):
		for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
			l.pos++
		}
		word := l.src[start:l.pos]
		if !utf8.ValidString(word) {
			return token{}, sqlerror.New(sqlstate.CharacterNotInRepert, start, "invalid UTF-8 in identifier")
		}
		if len(word) > MaxIdentifierLen {
			return token{}, sqlerror.New(sqlstate.NameTooLong, start, "identifier is longer than %d bytes", MaxIdentifierLen)
		}
		if err := checkNameChars(word, start); err != nil {
			return token{}, err
		}
		return token{kind: tokIdent, text: word, pos: start, end: l.pos}, nil
	case c >= '0' && c <= '9':
		for l.pos < len(l.src) && (isIdentPart(l.src[l.pos]) || l.src[l.pos] == '.') {
			l.pos++
		}
		return token{kind: tokNumber, text: l.src[start:l.pos], pos: start, end: l.pos}, nil
	case c == '\'' || c == '"':
		return l.quoted(c)
	default:
		l.pos++
		return token{kind: tokPunct, text: l.src[start:l.pos], pos: start, end: l.pos}, nil
	}
}

// quoted reads a '...' string or a "..." identifier; the quote is doubled to
// stand for itself. Error messages never include the content: a string may
// be a secret.
func (l *lexer) quoted(q byte) (token, *sqlerror.Error) {
	start := l.pos
	l.pos++
	// Most literals hold no doubled quote: slice them without copying.
	var b strings.Builder
	copied := false
	for {
		i := strings.IndexByte(l.src[l.pos:], q)
		if i < 0 {
			l.pos = len(l.src)
			if q == '"' {
				return token{}, sqlerror.New(sqlstate.SyntaxError, start, "unterminated quoted identifier")
			}
			return token{}, sqlerror.New(sqlstate.SyntaxError, start, "unterminated string literal")
		}
		chunk := l.src[l.pos : l.pos+i]
		l.pos += i + 1
		if l.pos < len(l.src) && l.src[l.pos] == q {
			b.WriteString(chunk)
			b.WriteByte(q)
			copied = true
			l.pos++
			continue
		}
		if copied {
			b.WriteString(chunk)
		}
		break
	}
	var text string
	if copied {
		text = b.String()
	} else {
		text = l.src[start+1 : l.pos-1]
	}
	if strings.IndexByte(text, 0) >= 0 {
		return token{}, sqlerror.New(sqlstate.CharacterNotInRepert, start, "NUL byte in quoted text")
	}
	if !utf8.ValidString(text) {
		return token{}, sqlerror.New(sqlstate.CharacterNotInRepert, start, "invalid UTF-8 in quoted text")
	}
	if q == '"' {
		if text == "" {
			return token{}, sqlerror.New(sqlstate.SyntaxError, start, "zero-length quoted identifier")
		}
		if len(text) > MaxIdentifierLen {
			return token{}, sqlerror.New(sqlstate.NameTooLong, start, "identifier is longer than %d bytes", MaxIdentifierLen)
		}
		if err := checkNameChars(text, start); err != nil {
			return token{}, err
		}
		return token{kind: tokQuotedIdent, text: text, pos: start, end: l.pos}, nil
	}
	if len(text) > MaxStringLen {
		return token{}, sqlerror.New(sqlstate.ProgramLimitExceeded, start, "string literal is longer than %d bytes", MaxStringLen)
	}
	return token{kind: tokString, text: text, pos: start, end: l.pos}, nil
}

// Piece is one statement of a script, as split by Split.
type Piece struct {
	// Text is the statement without its terminating ';'.
	Text string
	// Offset is the byte offset of Text in the script.
	Offset int
}

// Split cuts a script into statements at ';' outside strings, quoted
// identifiers and comments. It needs no successful parse: an engine or a
// REPL can report one bad statement and go on with the next. Pieces holding
// only white space and comments are dropped. An unterminated string or
// comment swallows the rest of the script into one piece, whose parse then
// reports it.
func Split(script string) []Piece {
	var pieces []Piece
	l := lexer{src: script}
	start := 0
	flush := func(end int) {
		text := script[start:end]
		if !onlySpaceAndComments(text) {
			pieces = append(pieces, Piece{Text: text, Offset: start})
		}
	}
	for {
		tok, err := l.next()
		if err != nil {
			if l.pos <= err.Position {
				// A NUL or a bad byte: step over it and keep splitting.
				l.pos = err.Position + 1
				continue
			}
			if l.pos >= len(script) {
				break
			}
			continue
		}
		if tok.kind == tokEOF {
			break
		}
		if tok.kind == tokPunct && tok.text == ";" {
			flush(tok.pos)
			start = tok.end
		}
	}
	flush(len(script))
	return pieces
}

func onlySpaceAndComments(s string) bool {
	l := lexer{src: s}
	if err := l.skipSpace(); err != nil {
		return false
	}
	return l.pos == len(s)
}

// checkNameChars refuses a name holding a character that can rewrite a
// terminal or the order of text around it, or that cannot be seen: control
// characters (C0, DEL, C1: escapes, newlines, carriage returns), format
// characters (bidirectional overrides, zero-width spaces and joiners, the
// byte order mark, soft hyphens, tags), the other default-ignorable code
// points (combining grapheme joiner, Hangul fillers, variation selectors)
// and every space and line separator but the ASCII space. Names are
// printed in other users' SHOW output, CSV and logs; refusing them here
// keeps every output safe without escaping, and two names that look the
// same ("prod" and "pro\u200bd") cannot both exist (Unicode's identifier
// rules, UAX #31, exclude the same classes).
func checkNameChars(name string, pos int) *sqlerror.Error {
	for _, r := range name {
		if r >= 0x20 && r < 0x7f {
			continue // printable ASCII, nearly every name: no table lookups
		}
		switch {
		case unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Bidi_Control, r) || unicode.In(r, unicode.Zl, unicode.Zp):
			return sqlerror.New(sqlstate.InvalidName, pos, "identifier contains the control character %U", r).
				WithHint("Names may hold any printable character, but no control characters, direction overrides or line breaks.")
		case invisible(r):
			return sqlerror.New(sqlstate.InvalidName, pos, "identifier contains the invisible character %U", r).
				WithHint("Names may hold any visible character and the ASCII space; a name with an invisible one would look like another name.")
		}
	}
	return nil
}

// invisible reports a code point that shows nothing, or only space: format
// characters, Unicode's other default-ignorable code points, variation
// selectors, and spaces other than U+0020.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) ||
		(unicode.Is(unicode.Zs, r) && r != ' ')
}
