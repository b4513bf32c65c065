package conncat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat"
)

// invalidationBound is how soon another handle's change must reach a
// config already handed out (README: within PollInterval on SQLite, a
// notification's delivery on PostgreSQL; far under this).
const invalidationBound = time.Second

// eventually retries cond until it holds or the bound passes, and returns
// how long it took.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > invalidationBound {
			t.Fatalf("%s: not seen within %v", what, invalidationBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
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
