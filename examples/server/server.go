package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"net"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/conncat/conncat"
)

// server accepts connections and keeps the running sessions by process
// ID, for CancelRequest.
type server struct {
	cfg      *config
	cat      *conncat.Catalog
	verifier *verifier
	// decoy answers a user that does not exist (see authenticate).
	decoy *verifier
	tls   *tls.Config
	slots chan struct{}

	mu       sync.Mutex
	sessions map[uint32]*session
	nextPID  uint32
}

func (s *server) serve(ctx context.Context, l net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := l.Accept()
		if err != nil {
			return // closed at shutdown
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, conn)
		}()
	}
}

// handle serves one connection, or refuses it when every slot is taken.
func (s *server) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		be := pgproto3.NewBackend(conn, conn)
		if _, err := be.ReceiveStartupMessage(); err == nil {
			be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: conncat.CodeTooManyConnections, Message: "sorry, too many clients already"})
			_ = be.Flush()
		}
		return
	}
	sess := s.newSession(conn)
	defer s.forget(sess)
	sess.run(ctx)
}

func (s *server) newSession(conn net.Conn) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextPID++
	key := make([]byte, 4)
	_, _ = rand.Read(key)
	sess := &session{srv: s, conn: conn, pid: s.nextPID, secret: key,
		prepared: map[string]*prepared{}, portals: map[string]*portal{}}
	s.sessions[sess.pid] = sess
	return sess
}

func (s *server) forget(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess.pid)
}

// cancel stops the statement running in the session a CancelRequest
// names, if its secret matches (PostgreSQL's rule; a wrong one is ignored).
func (s *server) cancel(pid uint32, secret []byte) {
	s.mu.Lock()
	sess := s.sessions[pid]
	s.mu.Unlock()
	if sess != nil && subtle.ConstantTimeCompare(sess.secret, secret) == 1 {
		sess.cancelRunning()
	}
}
