package validate

import (
	"context"
	"sync"

	"github.com/aws/smithy-go/middleware"
)

// retriedOutError is a call whose time ran out while the SDK was retrying:
// Err is what the SDK returned (only "request canceled, context deadline
// exceeded"), Last why the last finished attempt failed. Classify explains
// Last, which is what the customer can act on: "STS did not answer in
// time" for a refused connection would send them looking in the wrong
// place.
type retriedOutError struct {
	Last, Err error
}

func (e *retriedOutError) Error() string {
	return e.Err.Error() + " (last attempt: " + e.Last.Error() + ")"
}

func (e *retriedOutError) Unwrap() []error { return []error{e.Err, e.Last} }

type lastAttemptKey struct{}

type lastAttempt struct {
	mu  sync.Mutex
	err error
}

// recordAttempts adds two middlewares to a client's stack around the
// SDK's retry loop: the inner one notes each attempt's error, the outer one
// wraps a final cancellation in retriedOutError when an attempt failed
// first. middleware.Stack runs Finalize steps in order, so "before Retry"
// is the outer.
func recordAttempts(stack *middleware.Stack) error {
	outer := middleware.FinalizeMiddlewareFunc("conncat.RetriedOut", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		last := &lastAttempt{}
		out, md, err := next.HandleFinalize(context.WithValue(ctx, lastAttemptKey{}, last), in)
		if err != nil && ctx.Err() != nil {
			last.mu.Lock()
			if last.err != nil {
				err = &retriedOutError{Last: last.err, Err: err}
			}
			last.mu.Unlock()
		}
		return out, md, err
	})
	inner := middleware.FinalizeMiddlewareFunc("conncat.LastAttempt", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleFinalize(ctx, in)
		// An attempt cut short by the deadline says nothing new.
		if last, ok := ctx.Value(lastAttemptKey{}).(*lastAttempt); ok && err != nil && ctx.Err() == nil {
			last.mu.Lock()
			last.err = err
			last.mu.Unlock()
		}
		return out, md, err
	})
	if err := stack.Finalize.Insert(outer, "Retry", middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(inner, "Retry", middleware.After)
}
