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
// same one can serve every goroutine. Least recently used first out.
//
// It is bounded by the text it keeps, not by entries: a parsed tree takes
// about 180 times its text (measured: 256 dense queries of 4 KiB held
// 182 MB), so 64 KiB of text is ~12 MB of trees at worst, and a tenant
// sending long distinct queries cannot grow it past that.
var queryCache = newLRU(maxCachedTextBytes)

const (
	// maxCachedQueryLen is the longest query text kept; catalog queries
	// an engine repeats are short (the seed SELECT is 120 bytes).
	maxCachedQueryLen = 1 << 10
	// maxCachedTextBytes bounds the text of every query kept.
	maxCachedTextBytes = 64 << 10
)

type cacheKey struct {
	text   string
	offset int
}

type cacheEntry struct {
	key cacheKey
	q   *Query
}

type lru struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int        // text of the entries kept
	order    *list.List // most recently used first
	entries  map[cacheKey]*list.Element
}

func newLRU(maxBytes int) *lru {
	return &lru{maxBytes: maxBytes, order: list.New(), entries: map[cacheKey]*list.Element{}}
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
	c.bytes += len(key.text)
	for c.bytes > c.maxBytes {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		gone := oldest.Value.(*cacheEntry).key
		delete(c.entries, gone)
		c.bytes -= len(gone.text)
	}
}
