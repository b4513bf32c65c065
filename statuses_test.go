package conncat_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/internal/testenv"
)

// fakeClock is a clock tests move by hand, shared by the fake STS and the
// credential cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// statusRow is a row of mz_aws_connection_statuses joined with its name.
type statusRow struct {
	status, changedAt, expiresAt, lastRefreshAt string
	lastError                                   any
	stsCalls                                    int64
}

func statusesByName(t *testing.T, cat *conncat.Catalog) map[string]statusRow {
	t.Helper()
	res := mustExec(t, cat, `SELECT c.name, s.status, s.last_status_change_at, s.credentials_expire_at,
		s.last_refresh_at, s.last_error, s.sts_calls
		FROM mz_catalog.mz_connections c JOIN mz_internal.mz_aws_connection_statuses s ON s.id = c.id ORDER BY c.name`)[0]
	out := map[string]statusRow{}
	for _, r := range res.Rows {
		text := func(v any) string { s, _ := v.(string); return s }
		out[r[0].(string)] = statusRow{status: text(r[1]), changedAt: text(r[2]), expiresAt: text(r[3]),
			lastRefreshAt: text(r[4]), lastError: r[5], stsCalls: r[6].(int64)}
	}
	return out
}

// awaitStatus polls until the connection's status is want: a background
// refresh ends on its own goroutine.
func awaitStatus(t *testing.T, cat *conncat.Catalog, name, want string) statusRow {
	t.Helper()
	var row statusRow
	testenv.Eventually(t, name+" with status "+want, func() bool {
		row = statusesByName(t, cat)[name]
		return row.status == want
	})
	return row
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// TestStatusTable follows connections through every status the table
// shows, on both stores: fresh after the first credentials, stale when
// the role stops trusting the engine (last good served, the classified
// error shown), expired when they run out, fresh again when trust comes
// back; failed for a role that never trusted; static for access keys; and
// no row once a connection is dropped. No row holds a secret.
func TestStatusTable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		const secretValue = "fake-secret-for-the-status-test-31"
		start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		clock := &fakeClock{t: start}
		fake := awstest.NewSTS()
		defer fake.Close()
		fake.SetClock(clock.Now)
		key, sec := fake.AddUser(engineUser)
		var logs syncBuffer
		cat, _ := openOn(t, backend, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, sec)),
			conncat.WithCredentialCache(conncat.CacheOptions{Now: clock.Now, RefreshWindow: 5 * time.Minute, Jitter: time.Nanosecond, RetryAfter: time.Nanosecond}),
			conncat.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		ctx := context.Background()
		mustExec(t, cat, `CREATE SECRET sk AS '`+secretValue+`';
			CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`');
			CREATE CONNECTION never TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/NotCreated');
			CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKESTATUS', SECRET ACCESS KEY = SECRET sk)`)
		if got := statusesByName(t, cat); len(got) != 0 {
			t.Fatalf("rows before any use: %v", got)
		}
		trust := pastedTrustPolicy(t, cat, "r")
		if err := fake.AddRole(customerRole, trust); err != nil {
			t.Fatal(err)
		}
		retrieve := func(name string) error {
			cfg, err := cat.AWSConfig(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.Credentials.Retrieve(ctx)
			return err
		}
		for _, name := range []string{"r", "k"} {
			if err := retrieve(name); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if retrieve("never") == nil {
			t.Fatal("credentials for a role that does not exist")
		}

		expires := start.Add(time.Hour)
		rows := statusesByName(t, cat)
		want := map[string]statusRow{
			"r":     {status: "fresh", changedAt: rfc3339(start), expiresAt: rfc3339(expires), lastRefreshAt: rfc3339(start), stsCalls: 1},
			"k":     {status: "static", changedAt: rfc3339(start)},
			"never": {status: "failed", changedAt: rfc3339(start), lastRefreshAt: rfc3339(start), stsCalls: 1},
		}
		for name, w := range want {
			got := rows[name]
			if name == "never" {
				if msg, _ := got.lastError.(string); !strings.Contains(msg, "NotCreated") {
					t.Errorf("never: last_error %v should name the role", got.lastError)
				}
				got.lastError = nil
			}
			if got != w {
				t.Errorf("%s: %+v, want %+v", name, got, w)
			}
		}

		// The role stops trusting the engine; the refresh due 5 minutes
		// before expiry fails and the last good credentials are served.
		if err := fake.SetTrustPolicy(customerRole, strings.ReplaceAll(trust, engineUser, "arn:aws:iam::210987654321:user/someone-else")); err != nil {
			t.Fatal(err)
		}
		refreshAt := expires.Add(-4 * time.Minute)
		clock.Set(refreshAt)
		if err := retrieve("r"); err != nil {
			t.Fatalf("last good credentials not served: %v", err)
		}
		stale := awaitStatus(t, cat, "r", "stale")
		if msg, _ := stale.lastError.(string); !strings.Contains(msg, "refused to let "+engineUser+" assume "+customerRole) || stale.changedAt != rfc3339(refreshAt) ||
			stale.expiresAt != rfc3339(expires) || stale.stsCalls != 2 {
			t.Errorf("stale row: %+v", stale)
		}

		// They run out: expired from the moment they did, and the next
		// use gets no credentials; the operator is told at ERROR.
		clock.Set(expires.Add(time.Second))
		if row := statusesByName(t, cat)["r"]; row.status != "expired" || row.changedAt != rfc3339(expires) {
			t.Errorf("after expiry: %+v", row)
		}
		if retrieve("r") == nil {
			t.Fatal("expired credentials were served")
		}
		if row := statusesByName(t, cat)["r"]; row.status != "expired" || row.changedAt != rfc3339(expires) {
			t.Errorf("after a failed refresh past expiry: %+v", row)
		}
		events := logEvents(t, logs.String())
		if e := findEvent(events, "credentials refresh failed; serving the last good credentials"); e == nil || e["level"] != "WARN" || e["last_good_until"] != expires.Format(time.RFC3339) {
			t.Errorf("stale: %v", e)
		}
		if e := findEvent(events, "credentials expired and could not be replaced"); e == nil || e["level"] != "ERROR" || e["expired_at"] != expires.Format(time.RFC3339) || e["hint"] == nil {
			t.Errorf("expired: %v", e)
		}

		// Trust comes back: the next use, after the retry pause, obtains
		// fresh credentials.
		if err := fake.SetTrustPolicy(customerRole, trust); err != nil {
			t.Fatal(err)
		}
		clock.Set(clock.Now().Add(time.Second))
		if err := retrieve("r"); err != nil {
			t.Fatal(err)
		}
		if row := statusesByName(t, cat)["r"]; row.status != "fresh" || row.lastError != nil || row.stsCalls < 3 {
			t.Errorf("after trust restored: %+v", row)
		}

		// A routine refresh shows as refreshing while STS answers, with
		// the current credentials still served, then fresh again.
		row := statusesByName(t, cat)["r"]
		release := fake.Hold()
		clock.Set(clock.Now().Add(56 * time.Minute))
		if err := retrieve("r"); err != nil {
			t.Fatal(err)
		}
		awaitStatus(t, cat, "r", "refreshing")
		release()
		if after := awaitStatus(t, cat, "r", "fresh"); after.stsCalls != row.stsCalls+1 || after.expiresAt == row.expiresAt {
			t.Errorf("after a routine refresh: %+v (before %+v)", after, row)
		}

		mustExec(t, cat, `DROP CONNECTION never`)
		res := mustExec(t, cat, `SELECT * FROM mz_aws_connection_statuses`)[0]
		if len(res.Rows) != 2 || fmt.Sprint(res.Columns) != "[id status last_status_change_at credentials_expire_at last_refresh_at last_error sts_calls packed_policy_size role]" {
			t.Errorf("after DROP: %v %v", res.Columns, res.Rows)
		}
		if strings.Contains(fmt.Sprint(res.Rows), secretValue) || strings.Contains(fmt.Sprint(res.Rows), "AKIAFAKESTATUS") {
			t.Error("a status row holds a credential")
		}
	})
}
