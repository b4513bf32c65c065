package sqlparse

import (
	"strings"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

// RedactSource returns sql with everything that may be a secret replaced
// by '<redacted>'. Use it to echo statements as typed, including ones that
// failed to parse, in a REPL, a log line or a history file.
//
// Each statement of the script is judged on its own:
//   - one that parses and cannot hold a secret (SELECT, SHOW, VALIDATE,
//     DROP, RENAME) is kept as typed, and so is a SELECT the gate refused;
//   - one that parses and can hold a secret (CREATE/ALTER SECRET, CREATE/
//     ALTER CONNECTION) keeps only the literals that are values of options
//     that are never secret (ASSUME ROLE ARN, REGION, ...);
//   - one that does not parse hides every string literal (an unterminated
//     one to the end of the statement; one holding a NUL, a bad byte or
//     too many bytes as a whole) and everything in a value position (after
//     "=" or AS, after a complete option name, after CREATE/ALTER SECRET's
//     name), quoted identifiers and bare words included. Only a single
//     literal that is a valid value of a known option that is never secret
//     stays visible, so a failed CREATE CONNECTION can still be fixed.
func RedactSource(sql string) string {
	s, _ := RedactSourceAt(sql, -1)
	return s
}

// RedactSourceAt is RedactSource that also maps a byte offset in sql to
// the same place in the result, for drawing a caret.
func RedactSourceAt(sql string, pos int) (string, int) {
	r := &redactor{src: sql, pos: pos, newPos: pos}
	for _, piece := range Split(sql) {
		r.piece(piece)
	}
	r.b.WriteString(sql[r.last:])
	return r.b.String(), r.newPos
}

// redactor copies src into b, replacing spans, and keeps track of where a
// byte offset of src lands in the copy.
type redactor struct {
	src         string
	b           strings.Builder
	last        int // end of the part of src already copied
	pos, newPos int
}

func (r *redactor) replace(start, end int, with string) {
	r.b.WriteString(r.src[r.last:start])
	r.b.WriteString(with)
	if r.pos >= end {
		r.newPos += len(with) - (end - start)
	} else if r.pos > start {
		r.newPos = r.b.Len() - len(with)
	}
	r.last = end
}

func (r *redactor) piece(p Piece) {
	stmt, err := parsePieceSafely(r.src, p)
	if err != nil {
		if !isQuery(p) {
			r.unparsed(p)
		}
		return
	}
	keep, mayHoldSecret := visibleLiterals(stmt)
	if !mayHoldSecret {
		return
	}
	s := rawScanner{src: r.src, pos: p.Offset, end: p.Offset + len(p.Text)}
	for t, ok := s.next(); ok; t, ok = s.next() {
		if t.kind == rawString && !keep[t.pos] {
			r.replace(t.pos, t.end, maskFor(t))
		}
	}
}

// parsePieceSafely parses a piece for redaction only: a panic in a parser
// means "did not parse", never a lost echo.
func parsePieceSafely(src string, p Piece) (stmt Statement, err error) {
	defer func() {
		if recover() != nil {
			stmt, err = nil, sqlerror.New(sqlstate.Internal, -1, "parser panicked")
		}
	}()
	return ParsePiece(src, p)
}

// visibleLiterals returns, for a parsed statement, whether it may hold a
// secret at all and, if so, the positions of the literals that are values
// of options that never are.
func visibleLiterals(stmt Statement) (keep map[int]bool, mayHoldSecret bool) {
	keep = map[int]bool{}
	addOption := func(o Option) {
		if o.Kind == ValueString || o.Kind == ValueDuration {
			keep[o.ValuePos] = true
		}
	}
	switch s := stmt.(type) {
	case *CreateSecret:
		return keep, true
	case *AlterSecret:
		return keep, s.RenameTo == nil
	case *CreateConnection:
		for _, o := range s.Options {
			addOption(o)
		}
		return keep, true
	case *AlterConnection:
		for _, a := range s.Actions {
			if a.Kind == AlterSet {
				addOption(a.Option)
			}
		}
		return keep, true
	}
	return nil, false
}

// maskFor is what a hidden string literal prints as; an unterminated one
// stays unterminated, so the echo still shows why it failed.
func maskFor(t rawToken) string {
	if t.unterminated {
		return "'" + Redacted
	}
	return "'" + Redacted + "'"
}
