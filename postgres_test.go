package conncat_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

// TestPostgresNeedsItsKey: the key never enters the database, so a
// catalog in PostgreSQL opens only when given one, and says so.
func TestPostgresNeedsItsKey(t *testing.T) {
	cluster := testenv.Postgres(t)
	_, err := conncat.Open(context.Background(), cluster.URL, conncat.WithSchema(cluster.Schema()))
	if err == nil || !strings.Contains(err.Error(), "WithKeyFile") || !strings.Contains(err.Error(), "never enters the database") {
		t.Fatalf("Open without a key: %v", err)
	}
	for _, schema := range []string{"Upper", "1st", "a-b", "a.b", strings.Repeat("s", 49)} {
		if _, err := conncat.Open(context.Background(), cluster.URL, conncat.WithSchema(schema), conncat.WithKeyFile(filepath.Join(t.TempDir(), "k"))); err == nil {
			t.Errorf("schema %q accepted", schema)
		}
	}
}

// TestPostgresUnreachable: a database that does not answer is a coded
// 08001 error that does not repeat the URL's password.
func TestPostgresUnreachable(t *testing.T) {
	url := fmt.Sprintf("postgres://conncat:fake-password-8472@127.0.0.1:%d/conncat?sslmode=disable&connect_timeout=2", testenv.FreePort(t))
	_, err := conncat.Open(context.Background(), url, conncat.WithKeyFile(filepath.Join(t.TempDir(), "k")))
	var e *conncat.Error
	if !errors.As(err, &e) || e.Code != conncat.CodeUnableToConnect {
		t.Fatalf("Open of a closed port: %v", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v %+v %#v", err, e, e, errors.Unwrap(err), errors.Unwrap(err)), "fake-password-8472") {
		t.Fatalf("the error repeats the password: %v", err)
	}
}

// TestPostgresNodesShareOneCatalog: nodes that open the same schema
// together migrate it once; their DDL is serialised, so contended
// IF NOT EXISTS and DROP IF EXISTS give exact results; a second schema in
// the same database is another catalog.
func TestPostgresNodesShareOneCatalog(t *testing.T) {
	p := newPlace(t, "postgres")
	ctx := context.Background()
	const nodes = 6
	cats := make([]*conncat.Catalog, nodes)
	var wg sync.WaitGroup
	errs := make(chan error, nodes*50)
	for i := range cats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cat, err := conncat.Open(ctx, p.target, p.opts...)
			if err != nil {
				errs <- fmt.Errorf("node %d: open: %w", i, err)
				return
			}
			cats[i] = cat
		}()
	}
	wg.Wait()
	for _, cat := range cats {
		if cat != nil {
			defer cat.Close()
		}
	}
	if len(errs) > 0 {
		t.Fatal(<-errs)
	}
	for i, cat := range cats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				name := fmt.Sprintf("shared_%d", j%5)
				previous := fmt.Sprintf(`"own_%d_%d"`, i, j-1) // quoted: own_0_-1 is a name too
				for _, sql := range []string{
					"CREATE CONNECTION IF NOT EXISTS " + name + " TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')",
					fmt.Sprintf("CREATE CONNECTION own_%d_%d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')", i, j),
					"DROP CONNECTION IF EXISTS " + previous,
					"SELECT count(*) FROM mz_connections",
				} {
					if _, err := cat.Exec(ctx, sql); err != nil {
						errs <- fmt.Errorf("node %d: %s: %w", i, sql, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res := mustExec(t, cats[0], `SELECT count(*) FROM mz_connections WHERE name LIKE 'shared\_%';
		SELECT count(*) FROM mz_connections WHERE name LIKE 'own\_%';
		SELECT count(DISTINCT external_id), count(*) FROM mz_aws_connections;
		SELECT count(DISTINCT id) FROM mz_connections`)
	if res[0].Rows[0][0] != int64(5) || res[1].Rows[0][0] != int64(nodes) {
		t.Fatalf("shared %v, own %v: want 5 and %d", res[0].Rows, res[1].Rows, nodes)
	}
	if res[2].Rows[0][0] != res[2].Rows[0][1] {
		t.Fatalf("external IDs not unique: %v", res[2].Rows)
	}

	other := newPlace(t, "postgres").open(t)
	mustExec(t, other, "CREATE CONNECTION shared_0 TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/Other')")
	if r := mustExec(t, other, "SELECT count(*) FROM mz_connections"); r[0].Rows[0][0] != int64(1) {
		t.Fatalf("a second schema sees %v connections", r[0].Rows)
	}
}

// TestPostgresReplicaHoldsNoSealedValue: SELECT on PostgreSQL reads the
// node's replica, which never holds a sealed value, so no query can reach
// one whatever the gate let through: the replica's table of sealed values
// is empty, and the sealed bytes PostgreSQL holds appear nowhere in its
// files. The replica is removed at Close.
func TestPostgresReplicaHoldsNoSealedValue(t *testing.T) {
	// The shared cluster first: its directory must not go under tmp, which
	// the postgres OS user cannot enter when the tests run as root.
	testenv.Postgres(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the replica's private directory goes
	p := newPlace(t, "postgres")
	cat, err := conncat.Open(context.Background(), p.target, p.opts...)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, cat, "CREATE SECRET sk AS 'fake-sealed-value'")
	mustExec(t, cat, "SELECT count(*) FROM mz_secrets") // the replica has the secret's row
	var sealed []byte
	if err := p.raw(t).QueryRow(`SELECT ciphertext FROM ` + p.schema + `.conncat_secret_values v JOIN ` + p.schema + `.mz_secrets s ON s.id = v.id`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(tmp, "conncat-replica-*", "*"))
	if len(files) == 0 {
		t.Fatal("no replica files found under TMPDIR")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, sealed) || bytes.Contains(data, []byte("fake-sealed-value")) {
			t.Errorf("%s holds the sealed value", f)
		}
	}
	replica, err := sql.Open("sqlite3", "file:"+filepath.Join(filepath.Dir(files[0]), "replica.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := replica.QueryRow(`SELECT (SELECT count(*) FROM conncat_secret_values) * 10 + (SELECT count(*) FROM mz_secrets)`).Scan(&n); err != nil || n != 1 {
		t.Errorf("sealed values*10 + secrets = %d (%v), want 1", n, err)
	}
	replica.Close()
	if err := cat.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "conncat-replica-*")); len(left) != 0 {
		t.Errorf("Close left the replica: %v", left)
	}
}

// TestPostgresStatementTimeout: a runaway query stops at the statement
// budget with 57014 (it runs in the node's replica, interrupted there).
func TestPostgresStatementTimeout(t *testing.T) {
	cat := newPlace(t, "postgres").open(t, conncat.WithStatementTimeout(300*time.Millisecond))
	// The query never ends on its own and builds no value, so only the
	// budget can stop it; how long that took is logged, never asserted.
	start := time.Now()
	_, err := cat.Exec(context.Background(), "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n")
	wantCode(t, "runaway query", err, conncat.CodeQueryCanceled, "statement timeout")
	t.Logf("stopped after %v", time.Since(start).Round(time.Millisecond))
}

// TestPostgresURLNeverPrinted: a URL that does not parse is refused
// without repeating it, password included, under any verb.
func TestPostgresURLNeverPrinted(t *testing.T) {
	for _, url := range []string{
		"postgres://conncat:fake-url-password-9911@127.0.0.1:notaport/db",
		"postgresql://conncat:fake-url-password-9911@[::1/db?sslmode=bogus",
		"postgres://conncat:fake-url-password-9911@host/db?sslmode=nonsense",
	} {
		_, err := conncat.Open(context.Background(), url, conncat.WithKeyFile(filepath.Join(t.TempDir(), "k")))
		if err == nil {
			t.Fatalf("%s opened", url)
		}
		if s := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(s, "fake-url-password-9911") {
			t.Fatalf("the error repeats the password: %s", s)
		}
	}
}

// TestPostgresPoolBounded: one node's endless SELECTs cannot take the
// shared database's connections: they run in the node's replica and hold
// a PostgreSQL connection only to learn the latest change; the node opens
// at most WithMaxConnections, and its own DDL and another node's DDL go
// through meanwhile.
func TestPostgresPoolBounded(t *testing.T) {
	p := newPlace(t, "postgres")
	nodeB, raw := p.open(t), p.raw(t)
	const tag = "conncat_pool_test" // node A's connections, told apart in pg_stat_activity
	p.target += "&application_name=" + tag
	nodeA := p.open(t, conncat.WithMaxConnections(4), conncat.WithStatementTimeout(testenv.HangBound))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var started atomic.Int64
	for range 20 {
		wg.Go(func() {
			started.Add(1)
			_, err := nodeA.Exec(ctx, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n")
			if err == nil || !isCode(err, conncat.CodeQueryCanceled) {
				t.Errorf("an endless SELECT ended with %v, want 57014 when cancelled", err)
			}
		})
	}
	connections := func() (n int) {
		if err := raw.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, tag).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	testenv.Eventually(t, "twenty SELECTs started", func() bool { return started.Load() == 20 })
	mustExec(t, nodeA, `CREATE SECRET a AS 'fake-value-a'`)
	mustExec(t, nodeB, `CREATE SECRET b AS 'fake-value-b'`)
	if res := mustExec(t, nodeB, `SELECT count(*) FROM mz_secrets`); res[0].Rows[0][0] != int64(2) {
		t.Errorf("node B sees %v secrets, want 2", res[0].Rows)
	}
	if n := connections(); n > 4 {
		t.Errorf("node A holds %d connections, over its WithMaxConnections(4)", n)
	}
	cancel()
	wg.Wait()
}

func isCode(err error, code string) bool {
	var e *conncat.Error
	return errors.As(err, &e) && e.Code == code
}
