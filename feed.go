package conncat

import (
	"context"
	"sync"
)

// feedBatch gathers the change feed's reports until the watcher takes
// them: the IDs named (each once, in order) and whether everything was.
type feedBatch struct {
	mu    sync.Mutex
	ids   []string
	seen  map[string]bool
	all   bool
	ready chan struct{} // holds a token while something is pending
}

func newFeedBatch() *feedBatch {
	return &feedBatch{seen: map[string]bool{}, ready: make(chan struct{}, 1)}
}

func (b *feedBatch) add(ids []string, all bool) {
	b.mu.Lock()
	b.all = b.all || all
	for _, id := range ids {
		if !b.seen[id] {
			b.seen[id] = true
			b.ids = append(b.ids, id)
		}
	}
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default: // already signalled
	}
}

// next waits for reports and takes them all; ok is false once ctx ends.
func (b *feedBatch) next(ctx context.Context) (ids []string, all, ok bool) {
	select {
	case <-ctx.Done():
		return nil, false, false
	case <-b.ready:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ids, all = b.ids, b.all
	b.ids, b.all, b.seen = nil, false, map[string]bool{}
	return ids, all, true
}
