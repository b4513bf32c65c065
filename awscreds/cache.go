package awscreds

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat/internal/panics"
)

// CacheOptions tune a Cache. The zero value is usable.
type CacheOptions struct {
	// RefreshWindow is how long before expiry a refresh starts: callers
	// keep getting the current credentials while it runs. Default 5 min.
	RefreshWindow time.Duration
	// Jitter is the most a refresh is moved earlier at random, so a fleet
	// of engines that started together does not call STS together.
	// Default 1 min.
	Jitter time.Duration
	// RetryAfter is how long a failed background refresh waits before the
	// next try while the old credentials are still good. Default 10 s.
	RetryAfter time.Duration
	// RefreshTimeout bounds one refresh; callers' contexts do not.
	// Default 30 s.
	RefreshTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnRefreshStart, when set, is told that a refresh starts, on the
	// goroutine that runs it, before the provider is called.
	OnRefreshStart func()
	// OnRefresh, when set, is told how each refresh ended, outside the
	// cache's lock and off the cached path (for logs, metrics and the
	// status table), before the callers waiting for the refresh return: a
	// caller that got credentials sees them recorded.
	OnRefresh func(RefreshEvent)
	// OnAssumed, when set, is told of each session of the hop whose
	// credentials are served (NewProvider), before OnRefresh.
	OnAssumed func(Session)
}

// RefreshEvent is how one refresh ended.
type RefreshEvent struct {
	// Expires is when the new credentials expire (zero if they do not).
	Expires time.Time
	// Err is why the refresh failed; nil after a success.
	Err error
	// LastGoodUntil is set when the refresh failed but the previous
	// credentials are still served, until they expire then.
	LastGoodUntil time.Time
	// ExpiredAt is set when the refresh failed and the credentials it
	// should have replaced have run out: when they did.
	ExpiredAt time.Time
	// Took is how long the refresh ran.
	Took time.Duration
	// Inner is set for a hop whose credentials only make the next hop (the
	// engine's jump role), not the ones served for the connection.
	Inner bool
}

func (o CacheOptions) withDefaults() CacheOptions {
	if o.RefreshWindow == 0 {
		o.RefreshWindow = 5 * time.Minute
	}
	if o.Jitter == 0 {
		o.Jitter = time.Minute
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = 10 * time.Second
	}
	if o.RefreshTimeout == 0 {
		o.RefreshTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Cache is an aws.CredentialsProvider that shares one provider's
// credentials among any number of goroutines:
//   - at most one refresh is in flight, however many callers ask;
//   - a refresh starts RefreshWindow (minus jitter) before expiry and runs
//     in the background while callers keep the current credentials;
//   - a failed refresh keeps the last good credentials until they expire;
//     after that, callers get an ExpiredError saying when and why;
//   - a refresh runs on its own context: a caller that gives up (its
//     context cancelled) stops waiting, and the refresh goes on for the
//     others.
type Cache struct {
	provider aws.CredentialsProvider
	opts     CacheOptions

	// fresh is the credentials while no refresh is due: the common case is
	// served from it without taking mu. Written only with mu held.
	fresh atomic.Pointer[freshCreds]

	mu        sync.Mutex
	creds     aws.Credentials
	have      bool
	refreshAt time.Time
	inflight  *refresh
	lastErr   error
	retryAt   time.Time
}

type freshCreds struct {
	creds     aws.Credentials
	refreshAt time.Time
}

type refresh struct {
	done  chan struct{}
	creds aws.Credentials
	err   error
}

// NewCache wraps provider.
func NewCache(provider aws.CredentialsProvider, opts CacheOptions) *Cache {
	return &Cache{provider: provider, opts: opts.withDefaults()}
}

// Retrieve returns the cached credentials, refreshing them as needed.
func (c *Cache) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if f := c.fresh.Load(); f != nil && c.opts.Now().Before(f.refreshAt) {
		return f.creds, nil
	}
	c.mu.Lock()
	now := c.opts.Now()
	if c.have && !c.expired(now) {
		if !now.Before(c.refreshAt) && c.inflight == nil && !now.Before(c.retryAt) {
			c.start()
		}
		creds := c.creds
		c.mu.Unlock()
		return creds, nil
	}
	r := c.inflight
	if r == nil {
		if c.lastErr != nil && now.Before(c.retryAt) {
			// The last refresh failed moments ago: answer with its error
			// rather than send every caller's request on to STS.
			err := c.failure()
			c.mu.Unlock()
			return aws.Credentials{}, err
		}
		r = c.start()
	}
	c.mu.Unlock()
	select {
	case <-r.done:
		return r.creds, r.err
	case <-ctx.Done():
		return aws.Credentials{}, ctx.Err()
	}
}

// Invalidate forgets the cached credentials: the next Retrieve refreshes.
// A refresh already in flight finishes, but its result is not kept.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.have = false
	c.fresh.Store(nil)
	c.creds = aws.Credentials{}
	c.inflight = nil
	c.lastErr = nil
	c.retryAt = time.Time{}
}

func (c *Cache) expired(now time.Time) bool {
	return c.creds.CanExpire && !now.Before(c.creds.Expires)
}

// start launches a refresh; c.mu is held.
func (c *Cache) start() *refresh {
	r := &refresh{done: make(chan struct{})}
	c.inflight = r
	go c.run(r)
	return r
}

func (c *Cache) run(r *refresh) {
	defer close(r.done)
	if c.opts.OnRefreshStart != nil {
		c.opts.OnRefreshStart()
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RefreshTimeout)
	creds, err := retrieveRecovering(ctx, c.provider)
	cancel()
	event := c.settle(r, creds, err)
	if c.opts.OnRefresh != nil {
		event.Took = time.Since(start)
		c.opts.OnRefresh(event)
	}
}

// settle records a refresh's outcome for its waiters, whom run then lets go.
func (c *Cache) settle(r *refresh, creds aws.Credentials, err error) RefreshEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	event := RefreshEvent{Err: err}
	if err == nil && creds.CanExpire {
		event.Expires = creds.Expires
	}
	if c.inflight != r {
		// Invalidated while we ran: hand the waiters what we got (they
		// asked before the change) but keep nothing.
		r.creds, r.err = creds, err
		return event
	}
	c.inflight = nil
	if err == nil {
		c.creds, c.have, c.lastErr = creds, true, nil
		c.retryAt = time.Time{}
		c.refreshAt = c.nextRefresh(creds)
		c.fresh.Store(&freshCreds{creds: creds, refreshAt: c.refreshAt})
		r.creds = creds
		return event
	}
	c.lastErr = err
	c.retryAt = now.Add(c.opts.RetryAfter)
	if c.have && !c.expired(now) {
		r.creds = c.creds // keep last good
		event.LastGoodUntil = c.creds.Expires
		return event
	}
	if c.have {
		event.ExpiredAt = c.creds.Expires
	}
	r.err = c.failure()
	return event
}

// failure is the error for callers when there are no usable credentials
// after a failed refresh; c.mu is held.
func (c *Cache) failure() error {
	if c.have {
		return &ExpiredError{Expired: c.creds.Expires, Err: c.lastErr}
	}
	return c.lastErr
}

func (c *Cache) nextRefresh(creds aws.Credentials) time.Time {
	if !creds.CanExpire {
		return time.Time{}.Add(1<<63 - 1)
	}
	at := creds.Expires.Add(-c.opts.RefreshWindow)
	if c.opts.Jitter > 0 {
		at = at.Add(-rand.N(c.opts.Jitter))
	}
	return at
}

// Expires reports when the credentials the cache serves expire, without
// refreshing or waiting: ok is false when it holds none, or holds ones
// that do not expire.
func (c *Cache) Expires() (at time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.have || !c.creds.CanExpire {
		return time.Time{}, false
	}
	return c.creds.Expires, true
}

// LastError is the error of the latest refresh, nil after a success. An
// engine can surface it before the credentials run out.
func (c *Cache) LastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// ExpiredError says that credentials ran out because refreshing them failed.
type ExpiredError struct {
	Expired time.Time
	Err     error
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("credentials expired at %s and could not be refreshed: %v", e.Expired.UTC().Format(time.RFC3339), e.Err)
}

func (e *ExpiredError) Unwrap() error { return e.Err }

// PanicError is a panic in a credentials provider (the engine's own, or
// code it calls), recovered on the goroutine that refreshes: a panic there
// would end the process, whoever waits for the refresh. It names the panic
// and where it happened, never the panic's value.
type PanicError struct {
	What string // the panic's type, or a runtime error's text
	Site string // function, file and line
}

func (e *PanicError) Error() string {
	return "the credentials provider panicked: " + e.What + " in " + e.Site
}

// retrieveRecovering is provider.Retrieve with a panic turned into a
// *PanicError.
func retrieveRecovering(ctx context.Context, provider aws.CredentialsProvider) (creds aws.Credentials, err error) {
	defer func() {
		if v := recover(); v != nil {
			p := panics.Recovered(v)
			creds, err = aws.Credentials{}, &PanicError{What: p.What(), Site: p.Site}
		}
	}()
	return provider.Retrieve(ctx)
}
