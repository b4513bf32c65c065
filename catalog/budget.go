package catalog

import (
	"sync/atomic"

	"github.com/conncat/conncat/internal/sqlstate"
)

// DefaultMaxResultBytes is the most a statement may return (the bytes of
// all its values, as Go holds them) unless Options say otherwise.
const DefaultMaxResultBytes = 64 << 20

// ResultBudget bounds the result bytes that running statements hold at
// once, across every catalog that shares it (conncat shares one per
// process): a statement that would take more fails with 53200 instead of
// growing the heap. It is safe for concurrent use.
type ResultBudget struct {
	limit atomic.Int64
	held  atomic.Int64
}

// NewResultBudget returns a budget of limit bytes (0 or less: unbounded).
func NewResultBudget(limit int64) *ResultBudget {
	b := &ResultBudget{}
	b.SetLimit(limit)
	return b
}

// SetLimit changes the budget; statements already holding more keep it.
func (b *ResultBudget) SetLimit(limit int64) { b.limit.Store(limit) }

// Limit is the budget in bytes (0 or less: unbounded).
func (b *ResultBudget) Limit() int64 { return b.limit.Load() }

// Held is what running statements hold now.
func (b *ResultBudget) Held() int64 { return b.held.Load() }

func (b *ResultBudget) reserve(n int64) bool {
	for {
		held, limit := b.held.Load(), b.limit.Load()
		if limit > 0 && held+n > limit {
			return false
		}
		if b.held.CompareAndSwap(held, held+n) {
			return true
		}
	}
}

func (b *ResultBudget) release(n int64) { b.held.Add(-n) }

// resultMeter counts one statement's result bytes against the statement's
// limit and the shared budget, row by row as they are read: a result over
// either fails before the next row, never after all of it was built.
type resultMeter struct {
	limit  int64
	shared *ResultBudget
	used   int64
}

// valueOverhead is what Go spends on a value beyond its bytes (an
// interface and a string header), so that many tiny values count too.
const valueOverhead = 32

func (m *resultMeter) add(vals []any) error {
	if m == nil {
		return nil
	}
	n := int64(0)
	for _, v := range vals {
		n += valueOverhead
		switch v := v.(type) {
		case string:
			n += int64(len(v))
		case []byte:
			n += int64(len(v))
		}
	}
	if m.limit > 0 && m.used+n > m.limit {
		return errorf(sqlstate.ProgramLimitExceeded, -1, "query result is larger than %d MiB, the most a statement may return", m.limit>>20).
			WithHint("Select fewer rows or columns (WHERE, LIMIT), or raise the statement's result budget: WithMaxResultBytes (REPL and server: -max-result-bytes).")
	}
	if m.shared != nil && !m.shared.reserve(n) {
		return errorf(sqlstate.OutOfMemory, -1, "out of memory: running statements already hold %d MiB of results, the process's budget", m.shared.Limit()>>20).
			WithHint("Retry when fewer large queries run, or raise the process's result budget: SetMaxProcessResultBytes (REPL and server: -max-process-result-bytes).")
	}
	m.used += n
	return nil
}

// done gives the statement's bytes back to the shared budget.
func (m *resultMeter) done() {
	if m != nil && m.shared != nil {
		m.shared.release(m.used)
	}
}

// newMeter is the meter of one statement of c.
func (c *Executor) newMeter() *resultMeter {
	limit := c.opts.MaxResultBytes
	if limit == 0 {
		limit = DefaultMaxResultBytes
	}
	return &resultMeter{limit: limit, shared: c.opts.Results}
}
