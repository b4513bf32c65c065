package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/conncat/conncat"
)

// maxPrepared bounds the named statements of one session, so that a client
// cannot grow the server's memory without end.
const maxPrepared = 1000

// maxSessionBytes bounds what a session keeps between messages: the text
// of its prepared statements, the values bound to its portals and the
// results Describe ran and kept for Execute (1,000 statements of 4 MiB
// would otherwise hold 4 GB, 25 described portals of a large query 2 GB).
const maxSessionBytes = 64 << 20

// heldBytes is what the session keeps now, by maxSessionBytes' count.
func (s *session) heldBytes() int {
	n := 0
	for _, p := range s.prepared {
		n += len(p.text)
	}
	for _, pt := range s.portals {
		for _, a := range pt.args {
			if v, ok := a.(string); ok {
				n += len(v)
			}
		}
		if pt.result != nil {
			n += resultBytes(pt.result)
		}
	}
	return n
}

// resultBytes is what a kept result holds, by heldBytes' count.
func resultBytes(res *conncat.Result) int {
	n := 0
	for _, row := range res.Rows {
		for _, v := range row {
			n += 16
			switch v := v.(type) {
			case string:
				n += len(v)
			case []byte:
				n += len(v)
			}
		}
	}
	return n
}

// checkHeld refuses to keep more bytes than maxSessionBytes, counting
// what replaces an existing statement or portal as freed.
func (s *session) checkHeld(adding, replacing int) error {
	if s.heldBytes()-replacing+adding <= maxSessionBytes {
		return nil
	}
	return &conncat.Error{Code: conncat.CodeProgramLimitExceeded, Position: -1,
		Message: fmt.Sprintf("prepared statements and bound values of this session would hold more than %d MiB", maxSessionBytes>>20),
		Hint:    "Close the statements and portals no longer needed (DEALLOCATE, or the driver's Close)."}
}

// prepared is a statement named by Parse; portal a bound statement.
type prepared struct {
	text string
	stmt conncat.Statement // nil for an empty query
	// types are the result column types Describe announced, which every
	// execution then keeps to (nil until described).
	types []pgType
	// session is set for a session statement (SET, RESET, DISCARD, ...),
	// which the server answers itself; stmt is nil then.
	session *sessionStatement
}

type portal struct {
	prep    *prepared
	args    []any
	formats []int16
	// result is the statement's result when Describe had to run it to
	// know its columns; Execute then sends it instead of running again.
	result *conncat.Result
}

// errProtocol is a client's misuse of the extended protocol (08P01 or
// 26000), as opposed to a statement's own error.
type errProtocol struct{ code, message string }

func (e *errProtocol) Error() string { return e.message }

// extended handles one message of the extended protocol. After an error
// every message up to the next Sync is skipped, as PostgreSQL does, except
// Flush: a client that prepares with Parse, Describe, Flush and no Sync
// (asyncpg) waits for what it asked for, the error included.
func (s *session) extended(ctx context.Context, msg pgproto3.FrontendMessage) {
	if _, isFlush := msg.(*pgproto3.Flush); isFlush {
		_ = s.be.Flush()
		return
	}
	if s.failed {
		return
	}
	var err error
	switch m := msg.(type) {
	case *pgproto3.Parse:
		err = s.parse(m)
	case *pgproto3.Bind:
		err = s.bind(m)
	case *pgproto3.Describe:
		err = s.describe(ctx, m)
	case *pgproto3.Execute:
		err = s.executePortal(ctx, m)
	case *pgproto3.Close:
		if m.ObjectType == 'S' {
			delete(s.prepared, m.Name)
		} else {
			delete(s.portals, m.Name)
		}
		s.be.Send(&pgproto3.CloseComplete{})
	}
	if err != nil {
		s.failed = true
		s.cs.FailBlock() // any error fails a transaction block, as in PostgreSQL
		var pe *errProtocol
		if errors.As(err, &pe) {
			s.be.Send(&pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: pe.code, Message: pe.message})
		} else {
			s.sendError(s.textOf(msg), err)
		}
		// Sent at once, as PostgreSQL does: the client need not Sync
		// (or Flush) to learn its statement failed.
		_ = s.be.Flush()
	}
}

// textOf is the statement text a message is about, so that an error's
// position can be counted in it.
func (s *session) textOf(msg pgproto3.FrontendMessage) string {
	switch m := msg.(type) {
	case *pgproto3.Parse:
		return m.Query
	case *pgproto3.Bind:
		if p, ok := s.prepared[m.PreparedStatement]; ok {
			return p.text
		}
	case *pgproto3.Execute:
		if pt, ok := s.portals[m.Portal]; ok {
			return pt.prep.text
		}
	case *pgproto3.Describe:
		if p, ok := s.prepared[m.Name]; ok && m.ObjectType == 'S' {
			return p.text
		}
		if pt, ok := s.portals[m.Name]; ok && m.ObjectType == 'P' {
			return pt.prep.text
		}
	}
	return ""
}

func (s *session) parse(m *pgproto3.Parse) error {
	session, isSession := recognise(m.Query)
	var stmts []conncat.Statement
	if !isSession {
		var err error
		if stmts, err = conncat.Parse(m.Query); err != nil {
			return err
		}
	}
	if len(stmts) > 1 {
		return &conncat.Error{Code: conncat.CodeSyntaxError, Position: -1, Message: "cannot insert multiple commands into a prepared statement"}
	}
	if _, replacing := s.prepared[m.Name]; !replacing && len(s.prepared) >= maxPrepared {
		return &conncat.Error{Code: conncat.CodeProgramLimitExceeded, Position: -1,
			Message: fmt.Sprintf("more than %d prepared statements in one session", maxPrepared),
			Hint:    "Close the statements no longer needed (DEALLOCATE, or the driver's Close)."}
	}
	replacing := 0
	if old, ok := s.prepared[m.Name]; ok {
		replacing = len(old.text)
	}
	if err := s.checkHeld(len(m.Query), replacing); err != nil {
		return err
	}
	p := &prepared{text: m.Query, session: session}
	if len(stmts) == 1 {
		p.stmt = stmts[0]
	}
	s.prepared[m.Name] = p
	s.be.Send(&pgproto3.ParseComplete{})
	return nil
}

func (s *session) bind(m *pgproto3.Bind) error {
	p, ok := s.prepared[m.PreparedStatement]
	if !ok {
		return &errProtocol{conncat.CodeInvalidStatementName, fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement)}
	}
	want := 0
	if p.stmt != nil {
		want = conncat.Params(p.stmt)
	}
	if len(m.Parameters) != want {
		return &errProtocol{conncat.CodeProtocolViolation, fmt.Sprintf("bind message supplies %d parameters, but prepared statement %q requires %d", len(m.Parameters), m.PreparedStatement, want)}
	}
	// Parameters are announced as text (Describe), so drivers send text;
	// a binary text value is its bytes too.
	args := make([]any, len(m.Parameters))
	size := 0
	for i, v := range m.Parameters {
		if v != nil {
			args[i] = string(v)
			size += len(v)
		}
	}
	replacing := 0
	if old, ok := s.portals[m.DestinationPortal]; ok {
		for _, a := range old.args {
			if v, ok := a.(string); ok {
				replacing += len(v)
			}
		}
	}
	if err := s.checkHeld(size, replacing); err != nil {
		return err
	}
	if _, replacing := s.portals[m.DestinationPortal]; !replacing && len(s.portals) >= maxPrepared {
		return &conncat.Error{Code: conncat.CodeProgramLimitExceeded, Position: -1,
			Message: fmt.Sprintf("more than %d open portals in one session", maxPrepared)}
	}
	s.portals[m.DestinationPortal] = &portal{prep: p, args: args, formats: m.ResultFormatCodes}
	s.be.Send(&pgproto3.BindComplete{})
	return nil
}

// validateColumns are VALIDATE CONNECTION's result columns, known without
// running it (Describe must not reach the network).
var validateColumns = []string{"check", "status", "message", "hint", "duration_ms"}

func (s *session) describe(ctx context.Context, m *pgproto3.Describe) error {
	if m.ObjectType == 'S' {
		p, ok := s.prepared[m.Name]
		if !ok {
			return &errProtocol{conncat.CodeInvalidStatementName, fmt.Sprintf("prepared statement %q does not exist", m.Name)}
		}
		n := 0
		if p.stmt != nil {
			n = conncat.Params(p.stmt)
		}
		oids := make([]uint32, n)
		for i := range oids {
			oids[i] = typeText.oid
		}
		s.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
		return s.describeRows(ctx, &portal{prep: p, args: make([]any, n)}, false)
	}
	pt, ok := s.portals[m.Name]
	if !ok {
		return &errProtocol{conncat.CodeInvalidCursorName, fmt.Sprintf("portal %q does not exist", m.Name)}
	}
	return s.describeRows(ctx, pt, true)
}

// describeRows sends the RowDescription of a statement, or NoData. Only a
// statement that returns rows and cannot change anything (SELECT, SHOW)
// is run to learn its columns; a bound portal keeps that result.
func (s *session) describeRows(ctx context.Context, pt *portal, keep bool) error {
	p := pt.prep
	switch {
	case p.session != nil && p.session.columns != nil:
		p.types = p.session.types
		s.be.Send(rowDescription(p.session.columns, p.types, pt.formats))
		return nil
	case p.stmt == nil || !returnsRows(p.text):
		s.be.Send(&pgproto3.NoData{})
		return nil
	case isValidate(p.text):
		p.types = make([]pgType, len(validateColumns))
		for i := range p.types {
			p.types[i] = typeText
		}
		p.types[4] = typeInt8
		s.be.Send(rowDescription(validateColumns, p.types, pt.formats))
		return nil
	}
	res, err := s.runStatement(ctx, func(ctx context.Context) (*conncat.Result, error) {
		return s.cs.ExecStatement(ctx, p.stmt, pt.args...)
	})
	if err != nil {
		return err
	}
	if p.types == nil {
		p.types = columnTypes(res)
	}
	// The result is kept for Execute only while the session's bytes allow
	// it; otherwise Execute runs the statement again.
	if keep && s.checkHeld(resultBytes(res), 0) == nil {
		pt.result = res
	}
	s.be.Send(rowDescription(res.Columns, p.types, pt.formats))
	return nil
}

func (s *session) executePortal(ctx context.Context, m *pgproto3.Execute) error {
	pt, ok := s.portals[m.Portal]
	if !ok {
		return &errProtocol{conncat.CodeInvalidCursorName, fmt.Sprintf("portal %q does not exist", m.Portal)}
	}
	if st := pt.prep.session; st != nil {
		res, err := s.runSessionStatement(st)
		if err != nil {
			return err
		}
		s.sendRows(res, pt)
		s.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(res.Tag)})
		return nil
	}
	if pt.prep.stmt == nil {
		s.be.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	res := pt.result
	pt.result = nil
	if res == nil {
		var err error
		res, err = s.runStatement(ctx, func(ctx context.Context) (*conncat.Result, error) {
			return s.cs.ExecStatement(ctx, pt.prep.stmt, pt.args...)
		})
		if res != nil && err != nil {
			s.sendRows(res, pt)
		}
		if err != nil {
			return err
		}
	}
	s.sendRows(res, pt)
	s.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(res.Tag)})
	return nil
}

// sendRows sends a result's notices and rows in the formats the portal
// asked for; the RowDescription was Describe's.
func (s *session) sendRows(res *conncat.Result, pt *portal) {
	for _, n := range res.Notices {
		s.be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: conncat.CodeSuccessfulCompletion, Message: n})
	}
	types := pt.prep.types
	if types == nil {
		types = columnTypes(res)
	}
	for _, row := range res.Rows {
		values := make([][]byte, len(row))
		for i, v := range row {
			if formatOf(pt.formats, i) == 1 {
				values[i] = binaryValue(v, types[i])
			} else {
				values[i] = textValue(v)
			}
		}
		s.be.Send(&pgproto3.DataRow{Values: values})
	}
}

// formatOf reads Bind's result format codes: none (all text), one (for
// every column) or one per column.
func formatOf(formats []int16, i int) int16 {
	switch {
	case len(formats) == 0:
		return 0
	case len(formats) == 1:
		return formats[0]
	case i < len(formats):
		return formats[i]
	}
	return 0
}

func rowDescription(columns []string, types []pgType, formats []int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(columns))
	for i, name := range columns {
		fields[i] = pgproto3.FieldDescription{Name: []byte(name), DataTypeOID: types[i].oid, DataTypeSize: types[i].size,
			TypeModifier: -1, Format: formatOf(formats, i)}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

// binaryValue is a value in PostgreSQL's binary format for its column's
// type; nil is NULL.
func binaryValue(v any, t pgType) []byte {
	if v == nil {
		return nil
	}
	switch t {
	case typeInt8:
		if n, ok := v.(int64); ok {
			return binary.BigEndian.AppendUint64(nil, uint64(n))
		}
	case typeFloat8:
		if f, ok := v.(float64); ok {
			return binary.BigEndian.AppendUint64(nil, math.Float64bits(f))
		}
	case typeBytea:
		if b, ok := v.([]byte); ok {
			return b
		}
	}
	return textValue(v) // text's binary format is its bytes
}

// returnsRows reports whether a statement's text starts with a keyword of
// a statement that returns rows (SELECT, WITH, SHOW, VALIDATE, or a
// parenthesised query).
func returnsRows(text string) bool {
	switch firstWord(text) {
	case "select", "with", "show", "validate", "(":
		return true
	}
	return false
}

func isValidate(text string) bool { return firstWord(text) == "validate" }

// firstWord is the statement's first keyword, lower case, after blanks and
// comments.
func firstWord(text string) string {
	for _, p := range conncat.Split(text) {
		t := strings.TrimLeft(p.Text, " \t\r\n(")
		if strings.HasPrefix(strings.TrimLeft(p.Text, " \t\r\n"), "(") {
			return "("
		}
		end := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsLetter(r) })
		if end < 0 {
			end = len(t)
		}
		return strings.ToLower(t[:end])
	}
	return ""
}
