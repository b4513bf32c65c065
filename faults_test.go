package conncat_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

// TestPostgresRestartMidLoad: the database restarts with an immediate
// shutdown while several goroutines run DDL and SELECT. Statements in
// flight fail with a coded 08xxx (or 57014) error within their budget,
// never hang; the node recovers without being reopened; every statement
// that returned success is still there; and a config handed out before
// keeps serving its cached credentials throughout.
func TestPostgresRestartMidLoad(t *testing.T) {
	cluster, err := testenv.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	ctx := context.Background()
	const budget = 2 * time.Second
	node, err := conncat.Open(ctx, cluster.URL, conncat.WithSchema("faults"),
		conncat.WithKeyFile(filepath.Join(t.TempDir(), "k")), conncat.WithStatementTimeout(budget))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	mustExec(t, node, `CREATE SECRET sk AS 'fake-secret-one';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET sk)`)
	cfg, err := node.AWSConfig(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	committed := map[string]bool{}
	var failures, slow, finished atomic.Int64
	var uncoded []error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("c_%d_%d", g, i)
				start := time.Now()
				_, err := node.Exec(ctx, "CREATE CONNECTION "+name+" TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
				// Far past the budget is a hang, not a slow machine.
				if took := time.Since(start); took > budget+time.Minute {
					slow.Add(1)
				}
				finished.Add(1)
				var e *conncat.Error
				switch {
				case err == nil:
					mu.Lock()
					committed[name] = true
					mu.Unlock()
				case errors.As(err, &e) && (strings.HasPrefix(e.Code, "08") || e.Code == conncat.CodeQueryCanceled || e.Code == "57P01"):
					failures.Add(1)
				default:
					mu.Lock()
					uncoded = append(uncoded, err)
					mu.Unlock()
				}
				// The data plane keeps serving what it has cached.
				if c, err := cfg.Credentials.Retrieve(ctx); err != nil || c.SecretAccessKey != "fake-secret-one" {
					mu.Lock()
					uncoded = append(uncoded, fmt.Errorf("cached credentials during the restart: %v", err))
					mu.Unlock()
				}
			}
		}()
	}
	// The restart lands among statements: after some have committed, and
	// the load goes on until a good number more have ended after it.
	testenv.Eventually(t, "statements before the restart", func() bool { return finished.Load() >= 8 })
	if err := cluster.RestartImmediate(); err != nil {
		t.Fatal(err)
	}
	restarted := finished.Load()
	testenv.Eventually(t, "statements after the restart", func() bool { return finished.Load() >= restarted+16 })
	close(stop)
	wg.Wait()
	for _, err := range uncoded {
		t.Error(err)
	}
	if slow.Load() > 0 {
		t.Errorf("%d statements ran a minute past their %v budget", slow.Load(), budget)
	}
	t.Logf("%d statements committed, %d failed with a coded error during the restart", len(committed), failures.Load())

	// The node recovers on its own, and nothing that committed was lost.
	testenv.Eventually(t, "the node recovers", func() bool {
		_, err := node.Exec(ctx, "SELECT 1")
		return err == nil
	})
	res := mustExec(t, node, `SELECT name FROM mz_connections WHERE name LIKE 'c\_%';
		SELECT count(*) FROM mz_connections c WHERE NOT EXISTS (SELECT 1 FROM mz_aws_connections a WHERE a.id = c.id)`)
	present := map[string]bool{}
	for _, r := range res[0].Rows {
		present[r[0].(string)] = true
	}
	for name := range committed {
		if !present[name] {
			t.Errorf("committed connection %s was lost", name)
		}
	}
	if res[1].Rows[0][0] != int64(0) {
		t.Errorf("%v connections half-applied", res[1].Rows[0][0])
	}
	if len(committed) == 0 {
		t.Fatal("nothing committed: the load never ran")
	}
}

// TestPostgresFailover: a primary and a streaming standby on loopback,
// and a URL that names both with target_session_attrs=read-write. The
// standby is promoted and the primary stopped: the node carries on against
// the new primary without being reopened, with everything that had
// replicated, and hears other nodes' changes again.
func TestPostgresFailover(t *testing.T) {
	primary, err := testenv.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Stop()
	standby, err := primary.StartStandby()
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Stop()
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		primary.Port(), standby.Port())
	keyFile := filepath.Join(t.TempDir(), "k")
	ctx := context.Background()
	open := func() *conncat.Catalog {
		cat, err := conncat.Open(ctx, url, conncat.WithSchema("failover"), conncat.WithKeyFile(keyFile), conncat.WithStatementTimeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cat.Close() })
		return cat
	}
	nodeA, nodeB := open(), open()
	mustExec(t, nodeA, `CREATE SECRET sk AS 'fake-secret-one';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET sk);
		CREATE CONNECTION before_failover TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')`)
	cfg, err := nodeB.AWSConfig(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfg.Credentials.Retrieve(ctx); err != nil || c.SecretAccessKey != "fake-secret-one" {
		t.Fatalf("before the fail-over: %v", err)
	}
	// Asynchronous replication: wait until the standby has replayed
	// everything, as an operator's planned fail-over does.
	waitReplayed(t, primary)
	if err := standby.Promote(); err != nil {
		t.Fatal(err)
	}
	primary.Stop()

	testenv.Eventually(t, "the node carries on against the new primary", func() bool {
		_, err := nodeA.Exec(ctx, `CREATE CONNECTION after_failover TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')`)
		var e *conncat.Error
		if err != nil && (!errors.As(err, &e) || !strings.HasPrefix(e.Code, "08") && e.Code != conncat.CodeReadOnlyTransaction) {
			t.Fatalf("during the fail-over: %v", err)
		}
		return err == nil
	})
	res := mustExec(t, nodeA, `SELECT name FROM mz_connections ORDER BY name`)
	if got := fmt.Sprint(res[0].Rows); got != "[[after_failover] [before_failover] [k]]" {
		t.Fatalf("after the fail-over the catalog holds %s", got)
	}
	// Node B listens on the new primary: a change made there reaches it.
	mustExec(t, nodeA, `ALTER SECRET sk AS 'fake-secret-two'`)
	eventually(t, "a change after the fail-over", func() bool {
		c, err := cfg.Credentials.Retrieve(ctx)
		return err == nil && c.SecretAccessKey == "fake-secret-two"
	})
}

// waitReplayed waits until every standby of the primary has replayed all
// of its WAL.
func waitReplayed(t *testing.T, primary *testenv.PostgresCluster) {
	t.Helper()
	db, err := sql.Open("pgx", primary.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testenv.Eventually(t, "the standby replays the primary's WAL", func() bool {
		var behind bool
		if err := db.QueryRow(`SELECT count(*) = 0 OR bool_or(replay_lsn < pg_current_wal_lsn()) FROM pg_stat_replication`).Scan(&behind); err != nil {
			t.Fatal(err)
		}
		return !behind
	})
}
