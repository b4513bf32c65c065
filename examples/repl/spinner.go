package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/conncat/conncat"
)

// spinner shows, on a terminal, that a slow statement is still running
// and which validation checks have finished. It draws on one line of
// stderr and erases it before the statement's output is printed, so the
// output itself is never interleaved with it. It is only used when stdin
// is a terminal; scripts and pipes never see it.
type spinner struct {
	w io.Writer
	// delay before drawing: quick statements never flash a spinner.
	delay, tick time.Duration

	mu   sync.Mutex
	done []string // "credentials PASS", in the order checks finished
}

func newSpinner(w io.Writer) *spinner {
	return &spinner{w: w, delay: 300 * time.Millisecond, tick: 100 * time.Millisecond}
}

func (s *spinner) checkDone(p conncat.CheckProgress) {
	s.mu.Lock()
	s.done = append(s.done, p.Check+" "+p.Status)
	s.mu.Unlock()
}

// start begins a statement; the returned func ends it and erases the line.
func (s *spinner) start() (stop func()) {
	s.mu.Lock()
	s.done = nil
	s.mu.Unlock()
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		timer := time.NewTimer(s.delay)
		defer timer.Stop()
		select {
		case <-quit:
			return
		case <-timer.C:
		}
		frames := `|/-\`
		ticker := time.NewTicker(s.tick)
		defer ticker.Stop()
		began := time.Now().Add(-s.delay)
		for i := 0; ; i++ {
			s.mu.Lock()
			checks := strings.Join(s.done, ", ")
			s.mu.Unlock()
			status := fmt.Sprintf("%c running %.1fs", frames[i%len(frames)], time.Since(began).Seconds())
			if checks != "" {
				status += ": " + checks
			}
			fmt.Fprintf(s.w, "\r\x1b[K%s", status)
			select {
			case <-quit:
				fmt.Fprint(s.w, "\r\x1b[K")
				return
			case <-ticker.C:
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}
