package main

import (
	"container/list"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/conncat/conncat"
)

// server accepts connections and keeps the running sessions by process
// ID, for CancelRequest.
type server struct {
	cfg *config
	cat *conncat.Catalog
	// users are who may log in, by name; with roles (a -users file) each
	// session runs as the catalog role of its user's name.
	users map[string]*verifier
	roles bool
	// decoyKey derives the verifier a user that does not exist is
	// answered with (see decoyVerifier).
	decoyKey []byte
	tls      *tls.Config
	// slots bounds logged-in sessions; startups the sockets before that.
	slots    chan struct{}
	startups *startups
	stderr   io.Writer

	mu       sync.Mutex
	sessions map[uint32]*session
	nextPID  uint32
}

// serve accepts connections until ctx ends (nil) or the listener fails
// for good. Running out of descriptors or a connection aborted before it
// was accepted is not the end: the server backs off and goes on serving
// the sessions it has, as PostgreSQL's postmaster does.
func (s *server) serve(ctx context.Context, l net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil // closed at shutdown
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			fmt.Fprintf(s.stderr, "server: accept: %v; retrying in %v\n", err, backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		// Registered here, in the order accepted, so the oldest is closed
		// first whatever order the goroutines run in.
		dc := &deadlineConn{Conn: conn, writeTimeout: s.cfg.writeTimeout, accepted: time.Now()}
		starting := s.startups.add(dc)
		if starting == nil {
			go refuseStartup(dc)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, dc, starting)
		}()
	}
}

// handle serves one connection. Until it has logged in it is one of the
// startups (at most -max-startups, the oldest closed for a newcomer, each
// with the authentication deadline), so silent sockets cannot hold the
// descriptors or the session slots real users need.
func (s *server) handle(ctx context.Context, conn *deadlineConn, starting *list.Element) {
	defer conn.Close()
	defer s.startups.remove(starting)
	sess := s.newSession(conn)
	defer s.forget(sess)
	sess.loggedIn = func() { s.startups.remove(starting) }
	sess.run(ctx)
}

// refuseStartup answers a connection over -max-startups with 53300 at
// once, before reading anything, as PostgreSQL's postmaster does when it
// cannot start a backend (clients read it whatever they sent first).
func refuseStartup(c *deadlineConn) {
	defer c.Close()
	be := pgproto3.NewBackend(c, c)
	be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: conncat.CodeTooManyConnections,
		Message: "sorry, too many clients are logging in at once", Hint: "Retry in a moment; the server's -max-startups bounds this."})
	_ = be.Flush()
}

// admit takes a session slot for a client that has just authenticated,
// or reports that every slot is taken.
func (s *server) admit() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *server) release() { <-s.slots }

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
	if sess.admitted {
		s.release()
	}
}

// startups are the connections that have not logged in yet, oldest
// first, at most -max-startups. At the limit, a newcomer takes the place
// of the oldest socket that has said nothing for startupGrace (a client
// sends its start-up message as soon as it connects: one that says
// nothing is not logging in); when every socket is talking or new, the
// newcomer is refused with 53300. So a pile of silent sockets locks no
// real user out, and a burst of real clients is never cut off mid-login.
type startups struct {
	mu    sync.Mutex
	limit int
	conns *list.List // of *deadlineConn
}

// startupGrace is how long a socket may stay silent before a newcomer
// can take its place.
const startupGrace = time.Second

func newStartups(limit int) *startups { return &startups{limit: limit, conns: list.New()} }

// add registers c, or returns nil when it must be refused.
func (st *startups) add(c *deadlineConn) *list.Element {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.conns.Len() >= st.limit {
		victim := st.silentSince(time.Now().Add(-startupGrace))
		if victim == nil {
			return nil
		}
		old := victim.Value.(*deadlineConn)
		st.conns.Remove(victim)
		victim.Value = nil
		_ = old.Close() // its session's next read fails and it ends
	}
	return st.conns.PushBack(c)
}

// silentSince is the oldest socket accepted before t that has not sent a
// byte, or nil.
func (st *startups) silentSince(t time.Time) *list.Element {
	for e := st.conns.Front(); e != nil; e = e.Next() {
		c := e.Value.(*deadlineConn)
		if !c.accepted.Before(t) {
			return nil // the rest are newer still
		}
		if !c.spoke.Load() {
			return e
		}
	}
	return nil
}

// remove forgets e; removing it twice, or after it was closed for a
// newcomer, does nothing.
func (st *startups) remove(e *list.Element) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e.Value != nil {
		st.conns.Remove(e)
		e.Value = nil
	}
}

// deadlineConn gives every write a deadline, so that a client that stops
// reading cannot hold its session (and a slot) for ever: the write fails
// after -write-timeout, the connection is closed and the session ends. A deadline the session set
// for everything (start-up's) is never extended by a write.
type deadlineConn struct {
	net.Conn
	writeTimeout time.Duration
	accepted     time.Time
	spoke        atomic.Bool // the client has sent a byte
	mu           sync.Mutex
	overall      time.Time
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.spoke.Store(true)
	}
	return n, err
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.overall = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	d := time.Now().Add(c.writeTimeout)
	c.mu.Lock()
	if !c.overall.IsZero() && c.overall.Before(d) {
		d = c.overall
	}
	c.mu.Unlock()
	_ = c.Conn.SetWriteDeadline(d)
	n, err := c.Conn.Write(p)
	if err != nil {
		// Part of a message may have gone: the protocol cannot go on.
		// Closing ends the session at its next read, whatever the caller
		// does with the error (flushes are often not checked).
		_ = c.Conn.Close()
	}
	return n, err
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
