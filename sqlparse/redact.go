package sqlparse

import (
	"strings"

	"github.com/conncat/conncat/connection"
)

// RedactSource returns sql with every string literal that may hold a secret
// replaced by '<redacted>'. It works on tokens, needs no successful parse,
// and errs on the side of hiding: a literal is kept only where it is
// certainly not a secret — the value of a non-secret option (ASSUME ROLE
// ARN, REGION, ENDPOINT, PREFIX, ...) or any literal in a SELECT, SHOW,
// VALIDATE or DROP statement. An unterminated literal is hidden to the end.
// Use it to echo statements, including ones that failed to parse.
func RedactSource(sql string) string {
	s, _ := RedactSourceAt(sql, -1)
	return s
}

// RedactSourceAt is RedactSource that also maps a byte offset in sql to
// the same place in the result, for drawing a caret.
func RedactSourceAt(sql string, pos int) (string, int) {
	var b strings.Builder
	newPos := pos
	last := 0 // end of the part of sql already copied
	replace := func(start, end int, with string) {
		b.WriteString(sql[last:start])
		b.WriteString(with)
		if pos >= end {
			newPos += len(with) - (end - start)
		} else if pos > start {
			newPos = b.Len() - len(with)
		}
		last = end
	}
	for _, piece := range Split(sql) {
		l := lexer{src: sql[:piece.Offset+len(piece.Text)], pos: piece.Offset}
		var words []string // identifier words since the last punctuation
		first := ""
		for {
			t, err := l.next()
			if err != nil {
				if err.Code == CodeSyntaxError && strings.HasPrefix(err.Message, "unterminated string") {
					replace(err.Position, l.pos, "'"+Redacted)
					break
				}
				if l.pos <= err.Position {
					l.pos = err.Position + 1
				}
				words = nil
				continue
			}
			if t.kind == tokEOF {
				break
			}
			if first == "" && (t.kind == tokIdent || t.kind == tokPunct) {
				first = strings.ToLower(t.text)
			}
			switch t.kind {
			case tokIdent:
				words = append(words, strings.ToLower(t.text))
			case tokString:
				if !safeLiteral(first, words, t.text) {
					replace(t.pos, t.end, "'"+Redacted+"'")
				}
				words = nil
			case tokPunct:
				if t.text != "=" {
					words = nil
				}
			default:
				words = nil
			}
		}
	}
	b.WriteString(sql[last:])
	return b.String(), newPos
}

// safeLiteral reports whether a string literal following the given words
// in a statement starting with first is certainly not a secret.
func safeLiteral(first string, words []string, literal string) bool {
	switch first {
	case "select", "with", "(", "show", "validate", "drop":
		return true
	}
	name := strings.ToUpper(strings.Join(words, " "))
	switch connection.Option(name) {
	case connection.AssumeRoleARN, connection.AssumeRoleSessionName, connection.AssumeRoleDuration,
		connection.Region, connection.Endpoint, connection.STSEndpoint, connection.Prefix,
		connection.S3Path:
		return true
	case connection.AccessKeyID:
		// A secret key pasted in the wrong place must not be shown back.
		return checkAccessKeyID(literal) == nil
	}
	return false
}

// nearestOption returns the allowed option closest to what was written, if
// one is close enough to be a likely typo.
func nearestOption(written string, allowed []connection.Option) connection.Option {
	best, bestDist := connection.Option(""), len(written)/2+2
	for _, o := range allowed {
		if d := editDistance(written, string(o)); d < bestDist {
			best, bestDist = o, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
