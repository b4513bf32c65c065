package testenv

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// HangBound is how long a test waits for something that should happen on
// its own (a background refresh, a notification, a server's start) before
// it calls it a hang. It is far above what any of those takes on a busy
// machine: it bounds a hang and never measures speed, so a slow machine
// makes a test slower, never red. Speed is measured by the benchmarks.
const HangBound = 2 * time.Minute

// Eventually polls cond until it holds, and fails the test if it has not
// held after HangBound. It returns how long the wait took, for a test to
// log (never to assert).
func Eventually(t testing.TB, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	pause := time.Millisecond
	for !cond() {
		if time.Since(start) > HangBound {
			t.Fatalf("%s: still not true after %v", what, HangBound)
		}
		// Polling pause, not synchronisation: cond is checked again after it.
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
	return time.Since(start)
}

// SyncBuffer collects what another goroutine or process writes (a
// server's output, a terminal's screen, a logger's lines) while the test
// reads it. With a Limit, what comes past it is dropped (still reported
// as written, so the writer goes on).
type SyncBuffer struct {
	Limit int
	mu    sync.Mutex
	b     strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Limit > 0 && s.b.Len() > s.Limit {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
