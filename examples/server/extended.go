package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

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
		n += argBytes(pt.args)
	}
	return n
}

// argBytes is what bound values hold, by heldBytes' count.
func argBytes(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
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
	// clientOIDs are the parameter types Parse named (0: unnamed); desc
	// is the library's description, asked once (nil until needed).
	clientOIDs []uint32
	desc       *conncat.StatementDescription
	// session is set for a session statement (SET, RESET, DISCARD, ...),
	// which the server answers itself; stmt is nil then.
	session *sessionStatement
}

type portal struct {
	prep    *prepared
	args    []any
	formats []int16
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
		err = s.bind(ctx, m)
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
	p := &prepared{text: m.Query, session: session, clientOIDs: append([]uint32(nil), m.ParameterOIDs...)}
	if len(stmts) == 1 {
		p.stmt = stmts[0]
	}
	s.prepared[m.Name] = p
	s.be.Send(&pgproto3.ParseComplete{})
	return nil
}

func (s *session) bind(ctx context.Context, m *pgproto3.Bind) error {
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
	args, err := s.bindArgs(ctx, p, m)
	if err != nil {
		return err
	}
	replacing := 0
	if old, ok := s.portals[m.DestinationPortal]; ok {
		replacing = argBytes(old.args)
	}
	if err := s.checkHeld(argBytes(args), replacing); err != nil {
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

// bindArgs decodes Bind's values by their format and type: the type the
// client named in Parse, or the one the statement's description gives
// (asked here if the client sent a value in binary without describing).
func (s *session) bindArgs(ctx context.Context, p *prepared, m *pgproto3.Bind) ([]any, error) {
	if len(m.ParameterFormatCodes) > 1 && len(m.ParameterFormatCodes) != len(m.Parameters) {
		return nil, &errProtocol{conncat.CodeProtocolViolation, fmt.Sprintf("bind message has %d parameter formats but %d parameters", len(m.ParameterFormatCodes), len(m.Parameters))}
	}
	for i := range m.Parameters {
		if formatOf(m.ParameterFormatCodes, i) != 0 {
			if _, err := s.description(ctx, p); err != nil {
				return nil, err
			}
			break
		}
	}
	oids := p.paramOIDs(len(m.Parameters))
	args := make([]any, len(m.Parameters))
	for i, v := range m.Parameters {
		var err error
		if args[i], err = decodeParam(v, formatOf(m.ParameterFormatCodes, i), oids[i], i+1); err != nil {
			return nil, err
		}
	}
	return args, nil
}

func (s *session) describe(ctx context.Context, m *pgproto3.Describe) error {
	if m.ObjectType == 'S' {
		p, ok := s.prepared[m.Name]
		if !ok {
			return &errProtocol{conncat.CodeInvalidStatementName, fmt.Sprintf("prepared statement %q does not exist", m.Name)}
		}
		if _, err := s.description(ctx, p); err != nil {
			return err
		}
		n := 0
		if p.stmt != nil {
			n = conncat.Params(p.stmt)
		}
		s.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: p.paramOIDs(n)})
		return s.describeRows(ctx, p, nil)
	}
	pt, ok := s.portals[m.Name]
	if !ok {
		return &errProtocol{conncat.CodeInvalidCursorName, fmt.Sprintf("portal %q does not exist", m.Name)}
	}
	return s.describeRows(ctx, pt.prep, pt.formats)
}

// describeRows sends the RowDescription of a statement, or NoData, from
// its description: nothing is run to learn it.
func (s *session) describeRows(ctx context.Context, p *prepared, formats []int16) error {
	if p.session != nil {
		if p.session.columns == nil {
			s.be.Send(&pgproto3.NoData{})
			return nil
		}
		p.types = p.session.types
		s.be.Send(rowDescription(p.session.columns, p.types, formats))
		return nil
	}
	d, err := s.description(ctx, p)
	if err != nil {
		return err
	}
	if d == nil || d.Columns == nil {
		s.be.Send(&pgproto3.NoData{})
		return nil
	}
	var names []string
	names, p.types = resultTypes(d)
	s.be.Send(rowDescription(names, p.types, formats))
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
	res, err := s.runStatement(ctx, func(ctx context.Context) (*conncat.Result, error) {
		return s.cs.ExecStatement(ctx, pt.prep.stmt, pt.args...)
	})
	if res != nil {
		s.sendRows(res, pt) // VALIDATE returns its rows with its error
	}
	if err != nil {
		return err
	}
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
