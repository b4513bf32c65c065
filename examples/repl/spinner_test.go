package main

import (
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

// The spinner shows finished checks while a statement runs and erases its
// line when the statement ends, so the output that follows starts clean.
func TestSpinnerShowsChecksAndErasesItself(t *testing.T) {
	var screen testenv.SyncBuffer
	s := &spinner{w: &screen, delay: time.Millisecond, tick: 2 * time.Millisecond}
	stop := s.start()
	s.checkDone(conncat.CheckProgress{Check: "credentials", Status: "PASS"})
	testenv.Eventually(t, "the spinner shows the finished check", func() bool {
		return strings.Contains(screen.String(), "credentials PASS")
	})
	stop()
	if out := screen.String(); !strings.HasSuffix(out, "\r\x1b[K") {
		t.Fatalf("the spinner's line was not erased: %q", out)
	}

	// A quick statement never draws anything.
	var quiet testenv.SyncBuffer
	s = &spinner{w: &quiet, delay: time.Hour, tick: time.Millisecond}
	s.start()()
	if quiet.String() != "" {
		t.Fatalf("a quick statement drew %q", quiet.String())
	}
}
