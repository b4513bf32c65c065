package sqlparse

import (
	"container/list"
	"sync"
)

// queryCache keeps the last queries parsed, by their text and offset in
// the script (positions in errors count from it), so that a query an
// engine runs again and again is parsed, gated and restored once: parsing
// costs about as much as SQLite running a small query. Only queries that
// passed the gate are kept, and a *Query is read-only once parsed, so the
// same one can serve every goroutine. Bounded in entries and in the text
// it keeps (a long query's tree is large), least recently used first out.
var queryCache = newLRU(256)

// maxCachedQueryLen is the longest query text kept.
const maxCachedQueryLen = 4 << 10

type cacheKey struct {
	text   string
	offset int
}

type cacheEntry struct {
	key cacheKey
	q   *Query
}

type lru struct {
	mu      sync.Mutex
	max     int
	order   *list.List // most recently used first
	entries map[cacheKey]*list.Element
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), entries: map[cacheKey]*list.Element{}}
}

func (c *lru) get(piece Piece) (*Query, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[cacheKey{piece.Text, piece.Offset}]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).q, true
}

func (c *lru) put(piece Piece, q *Query) {
	if len(piece.Text) > maxCachedQueryLen {
		return
	}
	key := cacheKey{piece.Text, piece.Offset}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, q: q})
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
}
