package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/conncat/conncat"
)

// session is one client connection.
type session struct {
	srv    *server
	conn   net.Conn
	be     *pgproto3.Backend
	pid    uint32
	secret []byte
	user   string
	// database is the database the client asked for, which only
	// current_database() reports: there is one catalog.
	database string
	// cs is the library's session: the transaction block and its state.
	cs *conncat.Session
	// loggedIn is called once the client has authenticated and holds a
	// session slot (admitted), which the server gives back when it ends.
	loggedIn func()
	admitted bool

	mu      sync.Mutex
	running context.CancelFunc // the statement in flight, for CancelRequest

	prepared map[string]*prepared
	portals  map[string]*portal
	// failed: an extended-protocol message failed; skip to Sync.
	failed bool
	// params are the session parameters the client set; initial those
	// it started with, which RESET goes back to.
	params, initial map[string]string
}

// run serves the session: start-up, authentication, then messages until
// the client leaves, the idle timeout passes or the server stops.
func (s *session) run(ctx context.Context) {
	s.be = newBackend(s.conn)
	// A client must finish start-up and authentication in time: one that
	// connects and says nothing would otherwise hold a slot for ever.
	_ = s.conn.SetDeadline(time.Now().Add(s.srv.cfg.authTimeout))
	ok, err := s.startup()
	if err != nil || !ok {
		return
	}
	s.loggedIn()
	if s.srv.roles {
		ctx = conncat.WithRole(ctx, s.user)
	}
	s.cs = s.srv.cat.NewSession()
	defer s.cs.Close() // a block left open is rolled back
	_ = s.conn.SetDeadline(time.Time{})
	s.greet()
	for ctx.Err() == nil {
		_ = s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.idleTimeout))
		msg, err := s.be.Receive()
		if err != nil {
			var ne net.Error
			var tooLong *pgproto3.ExceededMaxBodyLenErr
			if errors.As(err, &tooLong) {
				s.fatal(conncat.CodeProgramLimitExceeded, fmt.Sprintf("message of %d bytes is over the %d this server reads", tooLong.ActualBodyLen, maxMessageLen))
			}
			if errors.As(err, &ne) && ne.Timeout() {
				s.fatal(conncat.CodeIdleSessionTimeout, "terminating connection due to idle-session timeout")
			}
			return
		}
		_ = s.conn.SetReadDeadline(time.Time{})
		switch m := msg.(type) {
		case *pgproto3.Query:
			s.simpleQuery(ctx, m.String)
		case *pgproto3.Terminate:
			return
		case *pgproto3.Sync:
			// Sync ends the implicit transaction, and with it every
			// portal (PostgreSQL's rule outside BEGIN): a described
			// portal's result is not kept past it.
			s.failed = false
			clear(s.portals)
			s.ready()
		case *pgproto3.Parse, *pgproto3.Bind, *pgproto3.Describe, *pgproto3.Execute, *pgproto3.Close, *pgproto3.Flush:
			s.extended(ctx, msg)
		default:
			s.fatal(conncat.CodeProtocolViolation, fmt.Sprintf("unexpected message %T", msg))
			return
		}
	}
}

// maxMessageLen bounds one protocol message: a statement is at most 4 MiB
// (ExecPiece), so a client cannot make the server buffer more.
const maxMessageLen = 8 << 20

func newBackend(rw io.ReadWriter) *pgproto3.Backend {
	be := pgproto3.NewBackend(rw, rw)
	be.SetMaxBodyLen(maxMessageLen)
	return be
}

// startup answers SSL and GSS requests and cancel requests, then reads the
// startup message and authenticates. It reports whether the session goes
// on.
func (s *session) startup() (bool, error) {
	for {
		msg, err := s.be.ReceiveStartupMessage()
		if err != nil {
			return false, err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if !s.startTLS() {
				return false, nil
			}
		case *pgproto3.GSSEncRequest:
			if _, err := s.conn.Write([]byte("N")); err != nil {
				return false, err
			}
		case *pgproto3.CancelRequest:
			s.srv.cancel(m.ProcessID, m.SecretKey)
			return false, nil
		case *pgproto3.StartupMessage:
			if s.srv.tls != nil && !s.encrypted() && !(s.srv.cfg.plaintextLoopback && isLoopback(s.conn.RemoteAddr())) {
				// PostgreSQL's hostssl: with a certificate, passwords and
				// secrets never cross the network in the clear.
				s.fatalWithHint(conncat.CodeInvalidAuthorizationSpec, "this server accepts only TLS connections: the client did not ask for encryption",
					"Connect with sslmode=require (or verify-full with the server's CA).")
				return false, nil
			}
			return s.authenticate(m), nil
		default:
			return false, fmt.Errorf("unexpected start-up message %T", msg)
		}
	}
}

// startTLS answers an SSLRequest: 'S' and a TLS handshake when the server
// has a certificate, 'N' otherwise (the client then decides).
func (s *session) startTLS() bool {
	if s.srv.tls == nil {
		_, err := s.conn.Write([]byte("N"))
		return err == nil
	}
	if _, err := s.conn.Write([]byte("S")); err != nil {
		return false
	}
	tc := tls.Server(s.conn, s.srv.tls)
	if err := tc.Handshake(); err != nil {
		return false
	}
	s.conn = tc
	s.be = newBackend(tc)
	return true
}

// authenticate runs SCRAM-SHA-256 for the configured user.
func (s *session) authenticate(m *pgproto3.StartupMessage) bool {
	s.user = m.Parameters["user"]
	s.database = m.Parameters["database"]
	if s.database == "" {
		s.database = s.user // as PostgreSQL: the database defaults to the user's name
	}
	s.initial = map[string]string{"application_name": m.Parameters["application_name"]}
	s.params = maps.Clone(s.initial)
	if enc, ok := m.Parameters["client_encoding"]; ok && !isUTF8(enc) {
		s.fatal(conncat.CodeInvalidParameterValue, fmt.Sprintf("client_encoding %q is not supported: conncat speaks UTF8 only", enc))
		return false
	}
	// Another user goes through the same exchange against a verifier no
	// password matches, so the answer does not tell which users exist.
	v, known := s.srv.users[s.user]
	if !known {
		v = decoyVerifier(s.srv.decoyKey, s.user)
	}
	x, err := v.conversation()
	if err != nil {
		s.fatal(conncat.CodeInternal, "could not start SCRAM authentication")
		return false
	}
	s.be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
	if s.be.Flush() != nil || s.be.SetAuthType(pgproto3.AuthTypeSASL) != nil {
		return false
	}
	initial, ok := s.receiveAuth().(*pgproto3.SASLInitialResponse)
	if !ok || initial.AuthMechanism != "SCRAM-SHA-256" {
		s.fatal(conncat.CodeInvalidAuthorizationSpec, "SCRAM-SHA-256 authentication expected")
		return false
	}
	serverFirst, err := x.Step(string(initial.Data))
	if err != nil {
		s.fatal(conncat.CodeInvalidPassword, fmt.Sprintf("password authentication failed for user %q", s.user))
		return false
	}
	s.be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if s.be.Flush() != nil || s.be.SetAuthType(pgproto3.AuthTypeSASLContinue) != nil {
		return false
	}
	response, ok := s.receiveAuth().(*pgproto3.SASLResponse)
	if !ok {
		return false
	}
	serverFinal, err := x.Step(string(response.Data))
	if err != nil || !x.Valid() {
		s.fatal(conncat.CodeInvalidPassword, fmt.Sprintf("password authentication failed for user %q", s.user))
		return false
	}
	// A session slot is taken only now: sockets that never log in hold
	// none.
	if s.admitted = s.srv.admit(); !s.admitted {
		s.fatal(conncat.CodeTooManyConnections, "sorry, too many clients already")
		return false
	}
	s.be.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte(serverFinal)})
	s.be.Send(&pgproto3.AuthenticationOk{})
	return true
}

func (s *session) receiveAuth() pgproto3.FrontendMessage {
	msg, err := s.be.Receive()
	if err != nil {
		return nil
	}
	return msg
}

// greet sends what PostgreSQL sends after authentication: the session
// parameters drivers read, the key for cancel requests, ReadyForQuery.
func (s *session) greet() {
	for _, p := range [][2]string{
		{"server_version", "15.0 (conncat)"}, {"server_encoding", "UTF8"}, {"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"}, {"TimeZone", "UTC"}, {"integer_datetimes", "on"},
		{"standard_conforming_strings", "on"}, {"IntervalStyle", "postgres"}, {"is_superuser", "off"},
		{"session_authorization", s.user}, {"application_name", s.params["application_name"]},
	} {
		s.be.Send(&pgproto3.ParameterStatus{Name: p[0], Value: p[1]})
	}
	s.be.Send(&pgproto3.BackendKeyData{ProcessID: s.pid, SecretKey: s.secret})
	s.ready()
}

// ready sends ReadyForQuery with the session's transaction status: idle,
// in a block, or in a failed block.
func (s *session) ready() {
	s.be.Send(&pgproto3.ReadyForQuery{TxStatus: s.cs.TxStatus()})
	_ = s.be.Flush()
}

func (s *session) fatal(code, message string) { s.fatalWithHint(code, message, "") }

func (s *session) fatalWithHint(code, message, hint string) {
	s.be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: message, Hint: hint})
	_ = s.be.Flush()
}

// encrypted reports whether the session runs over TLS.
func (s *session) encrypted() bool {
	_, ok := s.conn.(*tls.Conn)
	return ok
}

// isLoopback reports whether addr is on this machine.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// simpleQuery runs every statement of a Query message, each with its own
// result, stopping at the first error, as PostgreSQL does: several
// statements outside a block run as one implicit transaction, which the
// first error rolls back whole.
func (s *session) simpleQuery(ctx context.Context, text string) {
	defer s.ready()
	pieces := conncat.Split(text)
	if len(pieces) == 0 {
		s.be.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for _, p := range pieces {
		if len(pieces) > 1 {
			s.cs.StartImplicit()
		}
		res, err := s.execute(ctx, text, p)
		if res != nil {
			s.sendResult(res, s.typesOf(ctx, p, res))
		}
		if err != nil {
			s.cs.EndImplicit(ctx, false)
			s.sendError(text, err)
			return
		}
	}
	if err := s.cs.EndImplicit(ctx, true); err != nil {
		s.sendError(text, err)
	}
}

// execute runs one statement of a simple query: a session statement the
// server answers (SET, SHOW of a parameter, DISCARD ...), or the dialect's.
func (s *session) execute(ctx context.Context, text string, p conncat.Piece) (*conncat.Result, error) {
	if st, ok := recognise(p.Text); ok {
		return s.runSessionStatement(st)
	}
	return s.runStatement(ctx, func(ctx context.Context) (*conncat.Result, error) { return s.cs.ExecPiece(ctx, text, p) })
}

// runSessionStatement runs a statement the server answers itself; in a
// failed block it is refused, and its error fails the block, as any
// statement's does in PostgreSQL.
func (s *session) runSessionStatement(st *sessionStatement) (*conncat.Result, error) {
	if s.cs.TxStatus() == conncat.TxFailed {
		return nil, &conncat.Error{Code: conncat.CodeInFailedTransaction, Position: -1,
			Message: "current transaction is aborted, commands ignored until end of transaction block",
			Hint:    "ROLLBACK (or ROLLBACK TO SAVEPOINT) to go on."}
	}
	res, err := st.run(s)
	if err != nil {
		s.cs.FailBlock()
	}
	return res, err
}

// runStatement runs a statement, cancellable by a CancelRequest.
func (s *session) runStatement(ctx context.Context, fn func(context.Context) (*conncat.Result, error)) (*conncat.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.running = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = nil
		s.mu.Unlock()
		cancel()
	}()
	return fn(ctx)
}

func (s *session) cancelRunning() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != nil {
		s.running()
	}
}

// typesOf is the announced types of a simple query's result: those of the
// statement's description, as the extended protocol announces them, or,
// where it has none (a session statement), those of its values.
func (s *session) typesOf(ctx context.Context, p conncat.Piece, res *conncat.Result) []pgType {
	if res.Columns == nil {
		return nil
	}
	if st, ok := recognise(p.Text); ok && len(st.types) == len(res.Columns) {
		return st.types
	}
	stmts, err := conncat.Parse(p.Text)
	if err != nil || len(stmts) != 1 {
		return columnTypes(res)
	}
	d, err := s.srv.cat.DescribeStatement(ctx, stmts[0])
	if err != nil || len(d.Columns) != len(res.Columns) {
		return columnTypes(res)
	}
	_, types := resultTypes(d)
	return types
}

// sendResult writes a statement's rows (if any) with the column types
// given, notices and command tag.
func (s *session) sendResult(res *conncat.Result, types []pgType) {
	for _, n := range res.Notices {
		s.be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: conncat.CodeSuccessfulCompletion, Message: n})
	}
	if res.Columns != nil {
		fields := make([]pgproto3.FieldDescription, len(res.Columns))
		for i, name := range res.Columns {
			fields[i] = pgproto3.FieldDescription{Name: []byte(name), DataTypeOID: types[i].oid, DataTypeSize: types[i].size, TypeModifier: -1}
		}
		s.be.Send(&pgproto3.RowDescription{Fields: fields})
		for _, row := range res.Rows {
			values := make([][]byte, len(row))
			for i, v := range row {
				values[i] = textValue(v)
			}
			s.be.Send(&pgproto3.DataRow{Values: values})
		}
	}
	s.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(res.Tag)})
}

// sendError writes an error with its SQLSTATE, detail, hint and position
// (PostgreSQL counts characters from 1; conncat bytes from 0). A text
// that may hold a secret (anything conncat.Redact would hide) gets no
// position: the server never sends the text, but libpq and the drivers
// built on it print the client's own copy around the position
// ("LINE 1: CREATE SECRET s AS '...'") into errors that applications log.
func (s *session) sendError(text string, err error) {
	var e *conncat.Error
	if !errors.As(err, &e) {
		e = &conncat.Error{Code: conncat.CodeInternal, Message: "internal error", Position: -1}
	}
	msg := &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: e.Code,
		Message: e.Message, Detail: e.Detail, Hint: e.Hint}
	if e.Position >= 0 && e.Position <= len(text) && conncat.Redact(text) == text {
		msg.Position = int32(utf8.RuneCountInString(text[:e.Position]) + 1)
	}
	s.be.Send(msg)
}

// pgType is a column's PostgreSQL type as RowDescription names it.
type pgType struct {
	oid  uint32
	size int16
}

var (
	typeText   = pgType{25, -1}
	typeInt8   = pgType{20, 8}
	typeFloat8 = pgType{701, 8}
	typeBytea  = pgType{17, -1}
	typeJSON   = pgType{114, -1}
)

// columnTypes names each column's type from its values (the catalog's
// values are strings, 64-bit integers, floats, bytes or NULL).
func columnTypes(res *conncat.Result) []pgType {
	types := make([]pgType, len(res.Columns))
	for i := range types {
		types[i] = typeOf(res.Rows, i)
		if _, allNULL := nonNULL(res.Rows, i); allNULL && integerColumns[res.Columns[i]] {
			types[i] = typeInt8
		}
		if types[i] == typeText && jsonColumns[res.Columns[i]] {
			types[i] = typeJSON
		}
	}
	return types
}

// integerColumns are the catalog's integer columns (every other is text),
// to type a column whose values were all NULL, or absent, when described.
var integerColumns = map[string]bool{"assume_role_duration": true, "duration_ms": true}

// jsonColumns hold IAM policies, JSON documents: typed json (their text
// format is the document), so clients that parse JSON get objects.
var jsonColumns = map[string]bool{"example_trust_policy": true, "trust_policy": true, "permission_policy": true}

func nonNULL(rows [][]any, i int) (any, bool) {
	for _, row := range rows {
		if row[i] != nil {
			return row[i], false
		}
	}
	return nil, true
}

// typeOf is the type of column i's first non-NULL value; text when all
// are NULL.
func typeOf(rows [][]any, i int) pgType {
	for _, row := range rows {
		switch row[i].(type) {
		case nil:
			continue
		case int64:
			return typeInt8
		case float64:
			return typeFloat8
		case []byte:
			return typeBytea
		}
		return typeText
	}
	return typeText
}

// textValue is a value in PostgreSQL's text format; nil is NULL.
func textValue(v any) []byte {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(v)
	case int64:
		return strconv.AppendInt(nil, v, 10)
	case float64:
		return strconv.AppendFloat(nil, v, 'g', -1, 64)
	case []byte:
		return []byte(fmt.Sprintf("\\x%x", v))
	}
	return []byte(fmt.Sprint(v))
}

// isUTF8 reads an encoding name as PostgreSQL does: letters and digits
// only, any case, so that asyncpg's "'utf-8'" (quotes included) is UTF8.
func isUTF8(enc string) bool {
	var b strings.Builder
	for _, r := range enc {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	switch b.String() {
	case "UTF8", "UNICODE":
		return true
	}
	return false
}

// setParam reads "SET [SESSION|LOCAL] name {=|TO} value".
var setParam = regexp.MustCompile(`(?is)^\s*SET\s+(?:SESSION\s+|LOCAL\s+)?([a-z_]+)\s*(?:=|\s+TO\s+)\s*'?([^';]*?)'?\s*$`)

// settable are the session parameters drivers set at start-up, accepted
// (and reported back where PostgreSQL reports them) without effect on
// conncat's behaviour, which is fixed: UTF8, UTC, ISO dates.
var settable = map[string]bool{"application_name": true, "extra_float_digits": true, "datestyle": true,
	"timezone": true, "client_encoding": true, "search_path": true, "statement_timeout": true, "intervalstyle": true}
