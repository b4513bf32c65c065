package awscreds

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkcreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/testenv"
)

const (
	customerRole  = "arn:aws:iam::123456789012:role/CustomerWriter"
	principalRole = "arn:aws:iam::210987654321:role/conncat-jump"
	principalUser = "arn:aws:iam::210987654321:user/conncat-engine"
	testExternal  = "acme-00000000-0000-4000-8000-000000000001"
)

func roleSpec(principal string) connection.Spec {
	return connection.Spec{ID: "u7", Name: "aws_conn", RoleARN: customerRole, ExternalID: testExternal, Principal: principal, Region: "us-east-1"}
}

// fakeSTS records every AssumeRole call and answers with credentials
// named after the role, valid for the requested duration.
type fakeSTS struct {
	mu     sync.Mutex
	calls  []sts.AssumeRoleInput
	caller aws.CredentialsProvider
	now    func() time.Time
	fail   error
	count  atomic.Int64
	delay  time.Duration
	// release, when set, holds every call until it is closed.
	release chan struct{}
}

func (f *fakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.count.Add(1)
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// The caller's credentials are fetched as the SDK's signer would.
	callerCreds, err := f.caller.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, *in)
	if f.fail != nil {
		return nil, f.fail
	}
	d := time.Hour
	if in.DurationSeconds != nil {
		d = time.Duration(*in.DurationSeconds) * time.Second
	}
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId:     aws.String("ASIA-" + *in.RoleArn + "-by-" + callerCreds.AccessKeyID),
		SecretAccessKey: aws.String("fake-secret"),
		SessionToken:    aws.String("fake-token"),
		Expiration:      aws.Time(f.now().Add(d)),
	}}, nil
}

func TestNewProviderTwoHopsOnTheWire(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var fakes []*fakeSTS
	factory := func(_ connection.Spec, creds aws.CredentialsProvider) AssumeRoleAPI {
		f := &fakeSTS{caller: creds, now: func() time.Time { return now }}
		fakes = append(fakes, f)
		return f
	}
	ambient := sdkcreds.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "fake-ambient-secret", "")
	spec := roleSpec(principalRole)
	spec.Duration = 45 * time.Minute
	p, err := NewProvider(spec, "prod", connection.SessionScope{}, ambient, factory, CacheOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(fakes) != 2 {
		t.Fatalf("%d STS clients, want one per hop", len(fakes))
	}
	jump, cust := fakes[0].calls, fakes[1].calls
	if len(jump) != 1 || len(cust) != 1 {
		t.Fatalf("calls: jump %d, customer %d", len(jump), len(cust))
	}
	if *jump[0].RoleArn != principalRole || jump[0].ExternalId != nil || *jump[0].RoleSessionName != "conncat-prod-u7" {
		t.Errorf("jump hop sent %+v; it must name the principal and carry no external ID", jump[0])
	}
	if *cust[0].RoleArn != customerRole || aws.ToString(cust[0].ExternalId) != testExternal ||
		aws.ToInt32(cust[0].DurationSeconds) != 2700 || *cust[0].RoleSessionName != "conncat-prod-u7" {
		t.Errorf("customer hop sent %+v", cust[0])
	}
	// The customer hop was signed with the jump role's session, which was
	// made with the ambient keys.
	want := "ASIA-" + customerRole + "-by-ASIA-" + principalRole + "-by-AKIAIOSFODNN7EXAMPLE"
	if creds.AccessKeyID != want {
		t.Errorf("credentials %q, want %q", creds.AccessKeyID, want)
	}
	if !creds.Expires.Equal(now.Add(45 * time.Minute)) {
		t.Errorf("expires %v", creds.Expires)
	}
}

func TestNewProviderStatic(t *testing.T) {
	p, err := NewProvider(connection.Spec{Name: "k", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "fake-secret", SessionToken: "fake-token"}, "", connection.SessionScope{}, nil, nil, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKIAIOSFODNN7EXAMPLE" || c.SessionToken != "fake-token" || c.CanExpire {
		t.Fatalf("got %+v, %v", c, err)
	}
	if _, err := NewProvider(connection.Spec{Name: "k", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"}, "", connection.SessionScope{}, nil, nil, CacheOptions{}); err == nil {
		t.Fatal("a key without its secret must be refused")
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)} }
func (f *fakeSTS) setFail(err error) { f.mu.Lock(); f.fail = err; f.mu.Unlock() }
func (f *fakeSTS) provider() *RoleProvider {
	return &RoleProvider{Client: f, Hop: connection.Hop{RoleARN: customerRole, SessionName: "s1", ExternalID: testExternal}}
}

// waitFor polls cond: background refreshes finish on their own schedule.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, cond)
}

func newFake(clk *clock) *fakeSTS {
	return &fakeSTS{caller: sdkcreds.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "fake", ""), now: clk.Now}
}

func TestCacheRefreshesAheadOfExpiry(t *testing.T) {
	clk := newClock()
	f := newFake(clk)
	c := NewCache(f.provider(), CacheOptions{Now: clk.Now, RefreshWindow: 5 * time.Minute, Jitter: time.Minute})
	ctx := context.Background()
	first, err := c.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Well before the window: served from the cache.
	clk.Add(50 * time.Minute)
	if _, err := c.Retrieve(ctx); err != nil || f.count.Load() != 1 {
		t.Fatalf("calls %d, err %v; want the cached credentials", f.count.Load(), err)
	}
	// Inside the refresh window whatever the jitter: the caller still
	// gets the current credentials at once, and one refresh runs behind it.
	clk.Add(5*time.Minute + time.Second)
	got, err := c.Retrieve(ctx)
	if err != nil || !got.Expires.Equal(first.Expires) {
		t.Fatalf("got %v, %v; want the current credentials while refreshing", got.Expires, err)
	}
	waitFor(t, "the background refresh", func() bool {
		g, _ := c.Retrieve(ctx)
		return g.Expires.After(first.Expires)
	})
	if n := f.count.Load(); n != 2 {
		t.Fatalf("%d AssumeRole calls, want 2", n)
	}
}

func TestCacheKeepsLastGoodThenSaysWhy(t *testing.T) {
	clk := newClock()
	f := newFake(clk)
	c := NewCache(f.provider(), CacheOptions{Now: clk.Now, RefreshWindow: 5 * time.Minute, Jitter: time.Nanosecond, RetryAfter: time.Second})
	ctx := context.Background()
	good, err := c.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.setFail(errors.New("AccessDenied: trust policy changed"))
	clk.Add(58 * time.Minute)
	if got, err := c.Retrieve(ctx); err != nil || got != good {
		t.Fatalf("got %v; want the last good credentials", err)
	}
	waitFor(t, "the failed refresh", func() bool { return c.LastError() != nil })
	if got, err := c.Retrieve(ctx); err != nil || got != good {
		t.Fatalf("after a failed refresh: %v; want the last good credentials until they expire", err)
	}
	clk.Add(3 * time.Minute) // past expiry
	_, err = c.Retrieve(ctx)
	var expired *ExpiredError
	if !errors.As(err, &expired) {
		t.Fatalf("got %v, want an ExpiredError", err)
	}
	want := "credentials expired at 2026-11-22T13:00:00Z and could not be refreshed: assume role " + customerRole + ": AccessDenied: trust policy changed"
	if err.Error() != want {
		t.Fatalf("error text:\n got %s\nwant %s", err, want)
	}
	// Within RetryAfter of the failure, callers get the error without a
	// new call to STS.
	before := f.count.Load()
	if _, err := c.Retrieve(ctx); !errors.As(err, &expired) || f.count.Load() != before {
		t.Fatalf("calls %d -> %d, err %v", before, f.count.Load(), err)
	}
	// STS recovers: the next try after RetryAfter succeeds.
	f.setFail(nil)
	clk.Add(2 * time.Second)
	if got, err := c.Retrieve(ctx); err != nil || !got.Expires.After(good.Expires) {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestCacheOneRefreshForManyCallers(t *testing.T) {
	clk := newClock()
	f := newFake(clk)
	f.delay = 20 * time.Millisecond
	c := NewCache(f.provider(), CacheOptions{Now: clk.Now})
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for range 500 {
		wg.Go(func() {
			if _, err := c.Retrieve(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := f.count.Load(); n != 1 {
		t.Fatalf("%d AssumeRole calls for 500 concurrent callers, want 1", n)
	}
}

func TestCacheCallerCancellationDoesNotCancelRefresh(t *testing.T) {
	clk := newClock()
	f := newFake(clk)
	f.release = make(chan struct{})
	c := NewCache(f.provider(), CacheOptions{Now: clk.Now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := c.Retrieve(ctx); done <- err }()
	// The caller gives up while its refresh is in flight at STS.
	waitFor(t, "the refresh to reach STS", func() bool { return f.count.Load() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	close(f.release)
	// A patient caller shares the same refresh, which was not cancelled.
	if _, err := c.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.count.Load(); n != 1 {
		t.Fatalf("%d calls, want the one shared refresh", n)
	}
}

func TestCacheInvalidate(t *testing.T) {
	clk := newClock()
	f := newFake(clk)
	c := NewCache(f.provider(), CacheOptions{Now: clk.Now})
	if _, err := c.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Invalidate()
	if _, err := c.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.count.Load(); n != 2 {
		t.Fatalf("%d calls; Invalidate must force a new AssumeRole", n)
	}
}

func TestCacheJitterSpreadsRefreshes(t *testing.T) {
	expires := time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	creds := aws.Credentials{CanExpire: true, Expires: expires}
	seen := map[time.Time]bool{}
	for range 100 {
		c := NewCache(nil, CacheOptions{RefreshWindow: 5 * time.Minute, Jitter: time.Minute})
		at := c.nextRefresh(creds)
		if at.After(expires.Add(-5*time.Minute)) || at.Before(expires.Add(-6*time.Minute)) {
			t.Fatalf("refresh at %v is outside [expiry-6m, expiry-5m]", at)
		}
		seen[at] = true
	}
	if len(seen) < 50 {
		t.Fatalf("only %d distinct refresh times for 100 caches", len(seen))
	}
}

// TestCacheReportsEachRefresh: OnRefresh hears every refresh: success with
// the expiry, a failure while the last good credentials are still served
// (and until when), and a failure with nothing left to serve.
func TestCacheReportsEachRefresh(t *testing.T) {
	clk := newClock()
	f := newFake(clk)
	events := make(chan RefreshEvent, 10)
	c := NewCache(f.provider(), CacheOptions{Now: clk.Now, RefreshWindow: 5 * time.Minute, Jitter: time.Nanosecond,
		RetryAfter: time.Second, OnRefresh: func(e RefreshEvent) { events <- e }})
	ctx := context.Background()
	good, err := c.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e := <-events; e.Err != nil || !e.Expires.Equal(good.Expires) || !e.LastGoodUntil.IsZero() {
		t.Fatalf("success event %+v", e)
	}
	f.setFail(errors.New("AccessDenied: trust policy changed"))
	clk.Add(58 * time.Minute)
	_, _ = c.Retrieve(ctx)
	if e := <-events; e.Err == nil || !e.LastGoodUntil.Equal(good.Expires) {
		t.Fatalf("failure with last good: %+v", e)
	}
	clk.Add(3 * time.Minute)
	_, _ = c.Retrieve(ctx)
	if e := <-events; e.Err == nil || !e.LastGoodUntil.IsZero() {
		t.Fatalf("failure with nothing left: %+v", e)
	}
}
