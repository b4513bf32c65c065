package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/internal/testenv"
)

// eventually waits until cond holds (another handle's change reaching a
// config already handed out: README says within PollInterval on SQLite, a
// notification's delivery on PostgreSQL) and returns how long it took,
// for the log. The wait is bounded only against a hang: how fast a change
// travels is measured by BenchmarkInvalidation, never asserted here.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	return testenv.Eventually(t, what, cond)
}

// TestChangesReachOtherHandles: two handles on one catalog stand for two
// processes (SQLite) or two nodes (PostgreSQL). A config node B handed out
// follows ALTER SECRET, ALTER CONNECTION and DROP made on node A.
func TestChangesReachOtherHandles(t *testing.T) { forEachBackend(t, testChangesReachOtherHandles) }

func testChangesReachOtherHandles(t *testing.T, backend string) {
	p := newPlace(t, backend)
	nodeA, nodeB := p.open(t), p.open(t)
	ctx := context.Background()
	mustExec(t, nodeA, `CREATE SECRET sk AS 'fake-secret-one';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET sk)`)
	cfg, err := nodeB.AWSConfig(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	secretNow := func() (string, error) {
		c, err := cfg.Credentials.Retrieve(ctx)
		return c.SecretAccessKey, err
	}
	if s, err := secretNow(); err != nil || s != "fake-secret-one" {
		t.Fatalf("first Retrieve: %v", err)
	}
	mustExec(t, nodeA, `ALTER SECRET sk AS 'fake-secret-two'`)
	took := eventually(t, "ALTER SECRET on another handle", func() bool { s, err := secretNow(); return err == nil && s == "fake-secret-two" })
	t.Logf("%s: ALTER SECRET seen after %v", backend, took)

	mustExec(t, nodeA, `CREATE SECRET sk2 AS 'fake-secret-three'; ALTER CONNECTION k SET (SECRET ACCESS KEY = SECRET sk2)`)
	eventually(t, "ALTER CONNECTION on another handle", func() bool { s, err := secretNow(); return err == nil && s == "fake-secret-three" })

	mustExec(t, nodeA, `DROP CONNECTION k`)
	eventually(t, "DROP on another handle", func() bool { _, err := secretNow(); return err != nil })
	var e *conncat.Error
	if _, err := secretNow(); !errors.As(err, &e) || e.Code != conncat.CodeUndefinedObject {
		t.Fatalf("after DROP: %v", err)
	}
}

// TestListenerLossForgetsEverything (PostgreSQL): when a node's listening
// connection is killed, a change made while it listens again still
// reaches it, because it forgets everything it cached.
func TestListenerLossForgetsEverything(t *testing.T) {
	p := newPlace(t, "postgres")
	nodeA, nodeB := p.open(t), p.open(t)
	ctx := context.Background()
	mustExec(t, nodeA, `CREATE SECRET sk AS 'fake-secret-one';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET sk)`)
	cfg, err := nodeB.AWSConfig(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	retrieve := func() aws.Credentials { c, _ := cfg.Credentials.Retrieve(ctx); return c }
	if retrieve().SecretAccessKey != "fake-secret-one" {
		t.Fatal("first Retrieve")
	}
	raw := p.raw(t)
	var killed int
	if err := raw.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("no listener to kill (%d, %v)", killed, err)
	}
	// The change commits while the listeners are down or coming back.
	if _, err := raw.Exec(`UPDATE conncat_ids SET next = next`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, nodeA, `ALTER SECRET sk AS 'fake-secret-two'`)
	eventually(t, "a change while the listener was down", func() bool { return retrieve().SecretAccessKey == "fake-secret-two" })
}

// TestNodesUnderLoadShareTheirSessions: three handles (processes on
// SQLite, nodes on PostgreSQL) each run goroutines that take configs and
// credentials for one role connection while others run DDL on unrelated
// connections and SELECT. Each node assumes the customer's role exactly
// once: changes to other connections invalidate only those.
func TestNodesUnderLoadShareTheirSessions(t *testing.T) {
	forEachBackend(t, testNodesUnderLoadShareTheirSessions)
}

func testNodesUnderLoadShareTheirSessions(t *testing.T, backend string) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	p := newPlace(t, backend)
	p.opts = append(p.opts, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)))
	const nodes = 3
	var cats [nodes]*conncat.Catalog
	for i := range cats {
		cats[i] = p.open(t)
	}
	mustExec(t, cats[0], `CREATE CONNECTION shared TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cats[0], "shared")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for n, cat := range cats {
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 15 {
					cfg, err := cat.AWSConfig(ctx, "shared")
					if err == nil {
						_, err = cfg.Credentials.Retrieve(ctx)
					}
					if err != nil {
						errs <- fmt.Errorf("node %d: credentials: %w", n, err)
					}
					other := fmt.Sprintf("other_%d_%d", n, g)
					for _, sql := range []string{
						"CREATE CONNECTION IF NOT EXISTS " + other + " TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/Other')",
						fmt.Sprintf("ALTER CONNECTION %s SET (REGION = 'us-west-%d')", other, 1+i%2),
						"SELECT count(*) FROM mz_connections",
					} {
						if _, err := cat.Exec(ctx, sql); err != nil {
							errs <- fmt.Errorf("node %d: %s: %w", n, sql, err)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := fake.Assumed(customerRole); got != nodes {
		t.Fatalf("the customer's role was assumed %d times by %d nodes; want one session per node", got, nodes)
	}
}

// TestFeedSettlesStatusRows: a node's own change comes back on the feed
// without costing its rebuilt credentials (no second AssumeRole, the row
// stays fresh), and a DROP on another node removes the row here without
// the connection being used again.
func TestFeedSettlesStatusRows(t *testing.T) { forEachBackend(t, testFeedSettlesStatusRows) }

func testFeedSettlesStatusRows(t *testing.T, backend string) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, sec := fake.AddUser(engineUser)
	p := newPlace(t, backend)
	opts := []conncat.Option{conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, sec))}
	var logs syncBuffer
	nodeA := p.open(t, append(opts, conncat.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))...)
	nodeB := p.open(t, opts...)
	ctx := context.Background()
	mustExec(t, nodeA, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	id := mustExec(t, nodeA, `SELECT id FROM mz_connections WHERE name = 'r'`)[0].Rows[0][0].(string)
	rechecks := func() int {
		return strings.Count(logs.String(), `"msg":"cached credentials checked against the catalog","connection_id":"`+id+`"`)
	}
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, nodeA, "r")); err != nil {
		t.Fatal(err)
	}
	use := func(cat *conncat.Catalog) {
		t.Helper()
		cfg, err := cat.AWSConfig(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	use(nodeA)
	seen := rechecks()
	mustExec(t, nodeA, `ALTER CONNECTION r SET (REGION = 'eu-west-1')`)
	use(nodeA) // rebuilt by node A itself: one more AssumeRole
	before := fake.Assumed(customerRole)
	// The feed's echo of the ALTER is settled against the catalog (before
	// or after the rebuild): either way it costs no second AssumeRole.
	eventually(t, "node A's watcher checks r after its ALTER", func() bool { return rechecks() > seen })
	use(nodeA)
	if got := statusesByName(t, nodeA)["r"]; got.status != "fresh" || fake.Assumed(customerRole) != before {
		t.Errorf("after the feed echoed node A's own ALTER: %+v, %d AssumeRole calls (was %d)", got, fake.Assumed(customerRole), before)
	}
	mustExec(t, nodeB, `DROP CONNECTION r`)
	eventually(t, "the row of a connection dropped on another node", func() bool {
		return len(mustExec(t, nodeA, `SELECT id FROM mz_internal.mz_aws_connection_statuses`)[0].Rows) == 0
	})
}

// TestForgedNotificationsAreCheap (PostgreSQL): anyone who can connect to
// the catalog's database can NOTIFY its channel. 200 notifications that
// name a held connection unchanged, and IDs that do not exist, log nothing
// at INFO and leave the connection's cached credentials in use. (They are
// also coalesced, more so the busier the watcher: the count is logged, not
// asserted, since it depends on the machine's speed.)
func TestForgedNotificationsAreCheap(t *testing.T) {
	p := newPlace(t, "postgres")
	var logs syncBuffer
	node := p.open(t, conncat.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx := context.Background()
	mustExec(t, node, `CREATE SECRET sk AS 'fake-secret-one';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET sk)`)
	id := mustExec(t, node, `SELECT id FROM mz_connections WHERE name = 'k'`)[0].Rows[0][0].(string)
	cfg, err := node.AWSConfig(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	raw := p.raw(t)
	channel := "conncat_" + p.schema
	// The node listens (it says so when it starts to) before anything is
	// sent: a notification before LISTEN is heard by nobody.
	eventually(t, "the node listens", func() bool { return strings.Contains(logs.String(), "change feed (re)connected") })
	before := len(logs.String())
	for i := range 200 {
		payload := id
		if i%2 == 1 {
			payload = fmt.Sprintf("u%d,forged-%d", 100000+i, i)
		}
		if _, err := raw.Exec(`SELECT pg_notify($1, $2)`, channel, payload); err != nil {
			t.Fatal(err)
		}
	}
	// The watcher handles reports in order: once the last one is checked,
	// every one before it was.
	if _, err := raw.Exec(`SELECT pg_notify($1, 'sentinel')`, channel); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the watcher reaches the last notification", func() bool {
		return strings.Contains(logs.String(), `"connection_id":"sentinel"`)
	})
	flood := logs.String()[before:]
	info, checks := 0, strings.Count(flood, `"msg":"cached credentials checked against the catalog","connection_id":"`+id+`"`)
	for _, line := range strings.Split(flood, "\n") {
		if strings.Contains(line, `"level":"INFO"`) && strings.Contains(line, `"source":"feed"`) {
			info++
			t.Errorf("an INFO line for a forged notification: %s", line)
		}
	}
	t.Logf("200 forged notifications (100 naming k): %d checks of k, %d INFO lines", checks, info)
	if c, err := cfg.Credentials.Retrieve(ctx); err != nil || c.SecretAccessKey != "fake-secret-one" {
		t.Fatalf("after the flood: %v", err)
	}
}
