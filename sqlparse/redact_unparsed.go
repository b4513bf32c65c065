package sqlparse

import (
	"strings"
	"unicode/utf8"

	"github.com/conncat/conncat/connection"
)

// unparsed hides what may be a secret in a piece that did not parse, where
// nothing is known about its structure but its tokens.
//
// Only the first maxUnparsedScan bytes are judged token by token; the rest
// of a longer piece is hidden whole, so that a 4 MiB statement that failed
// costs no more memory to echo than a 64 KiB one.
func (r *redactor) unparsed(p Piece) {
	end := p.Offset + len(p.Text)
	s := rawScanner{src: r.src, pos: p.Offset, end: end}
	var toks []rawToken
	rest := -1 // where the hidden remainder starts
	for t, ok := s.next(); ok; t, ok = s.next() {
		if t.pos-p.Offset >= maxUnparsedScan {
			rest = t.pos
			break
		}
		toks = append(toks, t)
	}
	for _, sp := range unparsedSpans(toks) {
		r.replace(sp.start, sp.end, sp.mask)
	}
	if rest >= 0 {
		r.replace(rest, end, Redacted)
	}
}

// maxUnparsedScan is how much of a piece that did not parse is judged
// token by token.
const maxUnparsedScan = 64 << 10

// maxOptionWords is the most words an option name has (ASSUME ROLE
// SESSION NAME): a longer run of words cannot end in one.
const maxOptionWords = 4

// span is a part of the source to replace by mask.
type span struct {
	start, end int
	mask       string
}

// unparsedSpans returns, in source order, the spans of toks to hide.
func unparsedSpans(toks []rawToken) []span {
	var spans []span
	end := len(toks)
	// Everything after CREATE/ALTER SECRET name is the secret's value,
	// commas included.
	secretValue := secretValueStart(toks)
	if secretValue >= 0 {
		end = secretValue
	}
	var words []string // bare words since the last punctuation
	for i := 0; i < end; i++ {
		t := toks[i]
		start, option := -1, []string(nil)
		switch {
		case t.isPunct("="):
			start, option = i+1, words
		case t.isWord("as"):
			start = i + 1
		case t.kind != rawPunct && matchesOption(words) != "" && !isOptionPrefix(append(words[:len(words):len(words)], t.text)):
			// A complete option name followed by its value without "=".
			start, option = i, words
		}
		if start >= 0 {
			stop := valueEnd(toks[:end], start)
			spans = append(spans, valueSpan(toks[start:stop], option)...)
			i, words = stop-1, nil
			continue
		}
		switch t.kind {
		case rawWord:
			if len(words) <= maxOptionWords {
				words = append(words, t.text)
			}
		case rawString:
			spans = append(spans, span{t.pos, t.end, maskFor(t)})
			words = nil
		default:
			words = nil
		}
	}
	if secretValue >= 0 {
		spans = append(spans, valueSpan(toks[secretValue:], nil)...)
	}
	return spans
}

// secretValueStart finds CREATE or ALTER SECRET [IF [NOT] EXISTS] name
// anywhere in toks (a missing ';' can put it mid-piece) and returns the
// index of the first token of its value, after AS or "=" if present; -1
// when there is none (a RENAME is none).
func secretValueStart(toks []rawToken) int {
	for k := 0; k+1 < len(toks); k++ {
		if !(toks[k].isWord("create") || toks[k].isWord("alter")) || !toks[k+1].isWord("secret") {
			continue
		}
		i := k + 2
		for i < len(toks) && (toks[i].isWord("if") || toks[i].isWord("not") || toks[i].isWord("exists")) {
			i++
		}
		if i >= len(toks) || (toks[i].kind != rawWord && toks[i].kind != rawQuoted) {
			continue // not a name: a later CREATE/ALTER SECRET may be real
		}
		i++ // the name
		if i < len(toks) && (toks[i].isWord("as") || toks[i].isPunct("=")) {
			i++
		}
		if i < len(toks) && toks[i].isWord("rename") {
			continue
		}
		return i
	}
	return -1
}

// valueEnd returns the index of the "," or ")" that ends the value starting
// at toks[start], or len(toks).
func valueEnd(toks []rawToken, start int) int {
	depth := 0
	for j := start; j < len(toks); j++ {
		switch {
		case toks[j].isPunct("("):
			depth++
		case toks[j].isPunct(")"):
			if depth == 0 {
				return j
			}
			depth--
		case toks[j].isPunct(",") && depth == 0:
			return j
		}
	}
	return len(toks)
}

// valueSpan hides a value unless it is provably not a secret: a valid
// value of an option that never holds one, or a reference SECRET name.
func valueSpan(v []rawToken, option []string) []span {
	switch {
	case len(v) == 0:
		return nil
	case len(v) == 1 && visibleValue(optionOrTypo(option), v[0]):
		return nil
	case len(v) == 2 && v[0].isWord("secret") && (v[1].kind == rawWord || v[1].kind == rawQuoted):
		return nil
	case len(v) == 1 && v[0].kind == rawString:
		return []span{{v[0].pos, v[0].end, maskFor(v[0])}}
	}
	return []span{{v[0].pos, v[len(v)-1].end, Redacted}}
}

// optionOrTypo is the option words name, or the option they are a likely
// typo of ("REGON"), so that a failed statement's non-secret value stays
// readable to fix. A typo nearest to a secret-capable option stays one.
func optionOrTypo(words []string) connection.Option {
	if len(words) == 0 {
		return ""
	}
	if o := matchesOption(words); o != "" {
		return o
	}
	all := connection.OptionsIn(connection.ScopeAWS, connection.ScopeS3, connection.ScopeValidate)
	return nearestOption(strings.ToUpper(strings.Join(words, " ")), all)
}

// visibleValue reports whether t, the value of option, is visibly not a
// secret: a clean literal that the option's table row lets be shown.
func visibleValue(option connection.Option, t rawToken) bool {
	def, ok := connection.LookupOption(option)
	if !ok {
		return false
	}
	if def.Value == connection.DurationValue && t.kind == rawNumber {
		return true
	}
	if t.kind != rawString || t.unterminated {
		return false
	}
	text := strings.ReplaceAll(t.text[1:len(t.text)-1], "''", "'")
	if len(text) > MaxStringLen || !utf8.ValidString(text) || strings.IndexByte(text, 0) >= 0 {
		return false
	}
	return def.Echoes(text)
}

type rawKind uint8

const (
	rawWord rawKind = iota + 1
	rawNumber
	rawString // '...'
	rawQuoted // "..." or `...`
	rawPunct
)

// rawToken is a token of rawScanner; text is its source, quotes included.
type rawToken struct {
	kind         rawKind
	text         string
	pos, end     int
	unterminated bool
}

func (t rawToken) isWord(w string) bool {
	return t.kind == rawWord && strings.EqualFold(t.text, w)
}

func (t rawToken) isPunct(s string) bool { return t.kind == rawPunct && t.text == s }

// rawScanner splits source into tokens and never fails: a quoted run ends
// at its closing quote whatever it holds (NUL, bad bytes, any length) or
// at the end, so nothing inside a literal is ever read as a token.
type rawScanner struct {
	src      string
	pos, end int
}

func (s *rawScanner) next() (rawToken, bool) {
	s.skipSpace()
	if s.pos >= s.end {
		return rawToken{}, false
	}
	start, c := s.pos, s.src[s.pos]
	t := rawToken{pos: start}
	switch {
	case c == '\'' || c == '"' || c == '`':
		t.kind, t.unterminated = rawQuoted, !s.skipQuoted(c)
		if c == '\'' {
			t.kind = rawString
		}
	case isIdentStart(c):
		t.kind = rawWord
		for s.pos < s.end && isIdentPart(s.src[s.pos]) {
			s.pos++
		}
	case c >= '0' && c <= '9':
		t.kind = rawNumber
		for s.pos < s.end && (isIdentPart(s.src[s.pos]) || s.src[s.pos] == '.') {
			s.pos++
		}
	default:
		t.kind = rawPunct
		s.pos++
	}
	t.end = s.pos
	t.text = s.src[start:s.pos]
	return t, true
}

// skipQuoted moves past a quoted run (a doubled quote stands for itself)
// and reports whether it was terminated.
func (s *rawScanner) skipQuoted(q byte) bool {
	s.pos++
	for {
		i := strings.IndexByte(s.src[s.pos:s.end], q)
		if i < 0 {
			s.pos = s.end
			return false
		}
		s.pos += i + 1
		if s.pos < s.end && s.src[s.pos] == q {
			s.pos++
			continue
		}
		return true
	}
}

func (s *rawScanner) skipSpace() {
	for s.pos < s.end {
		rest := s.src[s.pos:s.end]
		switch c := rest[0]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.pos++
		case strings.HasPrefix(rest, "--"):
			if i := strings.IndexByte(rest, '\n'); i >= 0 {
				s.pos += i + 1
			} else {
				s.pos = s.end
			}
		case strings.HasPrefix(rest, "/*"):
			s.skipBlockComment()
		default:
			return
		}
	}
}

// skipBlockComment skips a nested /* */ comment, to the end if unclosed.
func (s *rawScanner) skipBlockComment() {
	depth := 0
	for s.pos < s.end {
		rest := s.src[s.pos:s.end]
		switch {
		case strings.HasPrefix(rest, "/*"):
			depth++
			s.pos += 2
		case strings.HasPrefix(rest, "*/"):
			depth--
			s.pos += 2
		default:
			s.pos++
		}
		if depth == 0 {
			return
		}
	}
}
