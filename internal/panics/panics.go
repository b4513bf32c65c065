// Package panics carries a panic from a goroutine conncat started back to
// the goroutine that waits for it. A panic on a bare goroutine ends the
// process, whatever the caller recovers; carried back, it reaches the
// statement boundary (conncat's ExecStatement), which turns it into an
// error. Engine code runs on such goroutines: credentials providers and
// progress callbacks during VALIDATE.
package panics

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Carried is a panic recovered on one goroutine and raised again on
// another, with where it first happened.
type Carried struct {
	Value any
	// Site is the function that panicked, with file and line.
	Site string
}

// Group is a sync.WaitGroup whose Wait raises, on the waiting goroutine,
// the first panic of any of its goroutines (as a *Carried).
type Group struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	panicked *Carried
}

// Go runs fn on a new goroutine.
func (g *Group) Go(fn func()) {
	g.wg.Go(func() {
		defer func() {
			if v := recover(); v != nil {
				c := Recovered(v)
				g.mu.Lock()
				if g.panicked == nil {
					g.panicked = c
				}
				g.mu.Unlock()
			}
		}()
		fn()
	})
}

// Wait waits for every goroutine, then raises the first panic, if any.
func (g *Group) Wait() {
	g.wg.Wait()
	if g.panicked != nil {
		panic(g.panicked)
	}
}

// Recovered wraps a value just returned by recover with the site of the
// panic. Call it from the deferred function that recovered, while the
// panicking frames are still on the stack. A value already carried keeps
// its first site.
func Recovered(v any) *Carried {
	if c, ok := v.(*Carried); ok {
		return c
	}
	return &Carried{Value: v, Site: site()}
}

// What names the panic without its value, which may hold anything the
// panicking code had in hand, secrets included: its type, or for a runtime
// error its text (an index, a nil dereference), which never holds data.
func (c *Carried) What() string {
	if re, ok := c.Value.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("a panic (%T)", c.Value)
}

// site is the first frame below runtime.gopanic outside the runtime: the
// function that panicked.
func site() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		if panicking && !strings.HasPrefix(f.Function, "runtime.") {
			return fmt.Sprintf("%s (%s:%d)", f.Function, filepath.Base(f.File), f.Line)
		}
		if f.Function == "runtime.gopanic" {
			panicking = true
		}
		if !more {
			return ""
		}
	}
}
