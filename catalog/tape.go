package catalog

import "context"

// tape records what a statement drew from the clock and the random source
// the first time it ran, so that running it again (a Block replays its
// statements at each new one and at COMMIT) writes the same values: the
// external ID SHOW TRUST POLICY showed inside the block is the one that
// commits.
type tape struct {
	// now is the statement's timestamp, set when first read.
	now string
	// externalIDs are the external IDs drawn, in order; next is where the
	// current run reads.
	externalIDs []string
	next        int
}

type tapeKey struct{}

// withTape runs a statement under t.
func withTape(ctx context.Context, t *tape) context.Context {
	return context.WithValue(ctx, tapeKey{}, t)
}

// tapeOf is ctx's tape, or nil outside a block.
func tapeOf(ctx context.Context) *tape {
	t, _ := ctx.Value(tapeKey{}).(*tape)
	return t
}

// rewind starts a run again from the first value drawn.
func (t *tape) rewind() { t.next = 0 }

// externalID is the next external ID of the run: the one drawn at this
// point before, or a new one from draw (also without a tape).
func (t *tape) externalID(draw func() string) string {
	if t == nil {
		return draw()
	}
	if t.next == len(t.externalIDs) {
		t.externalIDs = append(t.externalIDs, draw())
	}
	id := t.externalIDs[t.next]
	t.next++
	return id
}
