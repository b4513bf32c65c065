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
	"time"

	"github.com/conncat/conncat"
)

// server accepts connections and keeps the running sessions by process
// ID, for CancelRequest.
type server struct {
	cfg      *config
	cat      *conncat.Catalog
	verifier *verifier
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
		dc := &deadlineConn{Conn: conn, writeTimeout: s.cfg.writeTimeout}
		starting := s.startups.add(dc)
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
// first. At the limit, a new one closes the oldest: a client that logs in
// takes milliseconds, so only a flood of sockets that say nothing loses
// its place, never a real user for long.
type startups struct {
	mu    sync.Mutex
	limit int
	conns *list.List // of net.Conn
}

func newStartups(limit int) *startups { return &startups{limit: limit, conns: list.New()} }

func (st *startups) add(c net.Conn) *list.Element {
	st.mu.Lock()
	defer st.mu.Unlock()
	for st.conns.Len() >= st.limit {
		oldest := st.conns.Front()
		st.conns.Remove(oldest)
		c := oldest.Value.(net.Conn)
		oldest.Value = nil
		_ = c.Close() // its session's next read fails and it ends
	}
	return st.conns.PushBack(c)
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
// after -write-timeout and the session ends. A deadline the session set
// for everything (start-up's) is never extended by a write.
type deadlineConn struct {
	net.Conn
	writeTimeout time.Duration
	mu           sync.Mutex
	overall      time.Time
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
	return c.Conn.Write(p)
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
