package conncat_test

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

// The crash test: a child process runs mixed DDL against a catalog file
// and is killed with SIGKILL at a random moment, many times over. After
// each kill the catalog must open, pass SQLite's integrity and foreign-key
// checks, have no dangling dependency or half-written connection, decrypt
// every secret, and hold exactly the statements the child saw succeed —
// plus, at most, the one it was running when it died.

const crashChildEnv = "CONNCAT_CRASH_CHILD_DB"

// crashChildApp is the application_name of the child's PostgreSQL sessions.
const crashChildApp = "conncat_crash_child"

// TestCrashChild is the child's body; it does nothing in a normal run.
// Its catalog is a SQLite file, or a PostgreSQL URL with a schema and a
// key file.
func TestCrashChild(t *testing.T) {
	target := os.Getenv(crashChildEnv)
	if target == "" {
		return
	}
	ctx := context.Background()
	var opts []conncat.Option
	if schema := os.Getenv("CONNCAT_CRASH_SCHEMA"); schema != "" {
		opts = append(opts, conncat.WithSchema(schema), conncat.WithKeyFile(os.Getenv("CONNCAT_CRASH_KEY")))
	}
	cat, err := conncat.Open(ctx, target, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	log := os.Stdout // each line is written before/after its statement
	run := os.Getenv("CONNCAT_CRASH_RUN")
	exec := func(op, sql string) {
		fmt.Fprintf(log, "begin %s\n", op)
		if _, err := cat.Exec(ctx, sql); err != nil {
			fmt.Fprintf(os.Stderr, "child: %s: %v\n", sql, err)
			os.Exit(4)
		}
		fmt.Fprintf(log, "done %s\n", op)
	}
	// The parent kills it; the deadline only ends a child whose parent died.
	deadline := time.Now().Add(testenv.HangBound)
	for i := 0; time.Now().Before(deadline); i++ {
		s, a, r, b := fmt.Sprintf("s_%s_%d", run, i), fmt.Sprintf("a_%s_%d", run, i), fmt.Sprintf("r_%s_%d", run, i), fmt.Sprintf("b_%s_%d", run, i)
		exec("create "+s, "CREATE SECRET "+s+" AS 'value-one'")
		exec("create "+a, "CREATE CONNECTION "+a+" TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET "+s+", SESSION TOKEN = 'FwoGZXIvYXdzEXAMPLE')")
		exec("create "+r, "CREATE CONNECTION "+r+" TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
		exec("create "+b, "CREATE CONNECTION "+b+" TO S3 (PREFIX = 's3://bucket/"+b+"/') USING AWS CONNECTION "+r)
		exec("alter "+s, "ALTER SECRET "+s+" AS 'value-two'")
		exec("alter "+r, "ALTER CONNECTION "+r+" SET (REGION = 'us-west-2')")
		if i%2 == 1 {
			ps, pa, pr, pb := fmt.Sprintf("s_%s_%d", run, i-1), fmt.Sprintf("a_%s_%d", run, i-1), fmt.Sprintf("r_%s_%d", run, i-1), fmt.Sprintf("b_%s_%d", run, i-1)
			exec("drop "+ps+" "+pa, "DROP SECRET "+ps+" CASCADE")
			exec("drop "+pr+" "+pb, "DROP CONNECTION "+pr+" CASCADE")
		}
	}
	os.Exit(0)
}

func TestCrashSafety(t *testing.T) { forEachBackend(t, testCrashSafety) }

func testCrashSafety(t *testing.T, backend string) {
	dir := t.TempDir()
	p := newPlace(t, backend)
	keyFile := filepath.Join(dir, "crash.key")
	if backend == "postgres" {
		p.opts = []conncat.Option{conncat.WithSchema(p.schema), conncat.WithKeyFile(keyFile)}
	}
	ctx := context.Background()
	cat, err := conncat.Open(ctx, p.target, p.opts...) // creates the catalog and its key
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()

	state := map[string]bool{}
	completed, midStatement := 0, 0
	raw := p.raw(t)
	for run := range 25 {
		logPath := filepath.Join(dir, fmt.Sprintf("run-%d.log", run))
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		target := p.target
		if p.backend == "postgres" {
			target += "&application_name=" + crashChildApp // its sessions, told apart
		}
		cmd.Env = append(os.Environ(), crashChildEnv+"="+target, fmt.Sprintf("CONNCAT_CRASH_RUN=%d", run),
			"CONNCAT_CRASH_SCHEMA="+p.schema, "CONNCAT_CRASH_KEY="+keyFile)
		cmd.Stdout = logFile
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The kill lands at a random moment once the child is running
		// statements (its start-up, slow on a busy machine, is not what is
		// tested).
		testenv.Eventually(t, "the child's first statement", func() bool {
			b, _ := os.ReadFile(logPath)
			return strings.Contains(string(b), "begin ")
		})
		// why: the pause is the randomness of the kill's moment, not a wait for anything.
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err = cmd.Wait()
		logFile.Close()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("run %d: child ended on its own (%v) instead of being killed:\n%s", run, err, stderr.String())
		}
		if p.backend == "postgres" {
			// A killed client's server session can still be finishing the
			// COMMIT it was sent: the catalog is final once it is gone.
			testenv.Eventually(t, "the killed child's sessions end", func() bool {
				var n int
				err := raw.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, crashChildApp).Scan(&n)
				return err == nil && n == 0
			})
		}
		expected, inflight := replay(t, logPath, state, &completed)
		if inflight != "" {
			midStatement++
		}
		state = checkCatalog(t, p, expected, inflight)
	}
	t.Logf("%d statements completed over 25 kills, %d kills during a statement", completed, midStatement)
	if completed == 0 || midStatement == 0 {
		t.Fatal("the kills never landed among statements: nothing was tested")
	}
}

// replay applies the child's completed statements to the known state and
// returns it with the statement that was running at the kill, if any.
func replay(t *testing.T, logPath string, before map[string]bool, completed *int) (map[string]bool, string) {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	state := maps.Clone(before)
	inflight := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if op, ok := strings.CutPrefix(line, "begin "); ok {
			inflight = op
			continue
		}
		// Each line is one write(2) to a regular file: a kill cannot cut
		// it short.
		op, ok := strings.CutPrefix(line, "done ")
		if !ok || op != inflight {
			t.Fatalf("child log out of order at %q (running %q)", line, inflight)
		}
		*completed++
		apply(state, op)
		inflight = ""
	}
	return state, inflight
}

func apply(state map[string]bool, op string) {
	f := strings.Fields(op)
	switch f[0] {
	case "create":
		state[f[1]] = true
	case "drop":
		for _, name := range f[1:] {
			delete(state, name)
		}
	}
}

// checkCatalog verifies the catalog after a kill and returns the objects
// it holds.
func checkCatalog(t *testing.T, p place, expected map[string]bool, inflight string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	cat, err := conncat.Open(ctx, p.target, p.opts...)
	if err != nil {
		t.Fatalf("catalog does not open after a kill: %v", err)
	}
	defer cat.Close()
	db := p.raw(t)
	// PostgreSQL checks its own integrity and foreign keys on every
	// commit; SQLite is asked.
	if p.backend == "sqlite" {
		var integrity, fk string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
			t.Fatalf("integrity_check: %q %v", integrity, err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != "0" {
			t.Fatalf("foreign key violations: %s %v", fk, err)
		}
	}
	for _, q := range []struct{ what, sql string }{
		{"dependencies of missing objects", `SELECT count(*) FROM mz_object_dependencies d WHERE d.object_id NOT IN (SELECT id FROM mz_connections)`},
		{"dependencies on missing objects", `SELECT count(*) FROM mz_object_dependencies d WHERE d.referenced_object_id NOT IN (SELECT id FROM mz_connections UNION SELECT id FROM mz_secrets)`},
		{"AWS connections without their row", `SELECT count(*) FROM mz_connections c WHERE c.type = 'aws' AND c.id NOT IN (SELECT id FROM mz_aws_connections)`},
		{"S3 connections without their row", `SELECT count(*) FROM mz_connections c WHERE c.type = 's3' AND c.id NOT IN (SELECT id FROM mz_s3_connections)`},
		{"connections without create_sql", `SELECT count(*) FROM mz_connections WHERE create_sql = ''`},
		{"secrets without a sealed value", `SELECT count(*) FROM mz_secrets WHERE id NOT IN (SELECT id FROM conncat_secret_values)`},
		{"sealed values of nothing", `SELECT count(*) FROM conncat_secret_values v WHERE v.id <> 'conncat-key-check' AND v.id NOT IN (SELECT id FROM mz_secrets) AND NOT EXISTS (SELECT 1 FROM mz_connections c WHERE v.id LIKE c.id || '/%')`},
		{"secret-key connections missing a dependency", `SELECT count(*) FROM mz_aws_connections a WHERE a.secret_access_key_secret_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mz_object_dependencies d WHERE d.object_id = a.id AND d.referenced_object_id = a.secret_access_key_secret_id)`},
	} {
		var n int
		if err := db.QueryRow(q.sql).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s: %d (%v)", q.what, n, err)
		}
	}
	actual := map[string]bool{}
	rows, err := db.Query(`SELECT name FROM mz_secrets UNION ALL SELECT name FROM mz_connections`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		actual[n] = true
	}
	rows.Close()
	// Every connection resolves, secrets decrypted, with a value some
	// statement actually wrote.
	for name := range actual {
		if !strings.HasPrefix(name, "a_") && !strings.HasPrefix(name, "r_") && !strings.HasPrefix(name, "b_") {
			continue
		}
		r, err := cat.Resolve(ctx, name)
		if err != nil {
			t.Fatalf("connection %s does not resolve after a kill: %v", name, err)
		}
		if strings.HasPrefix(name, "a_") && (r.AWS.SessionToken != "FwoGZXIvYXdzEXAMPLE" || !slices.Contains([]string{"value-one", "value-two"}, r.AWS.SecretAccessKey)) {
			t.Fatalf("connection %s decrypts to values no statement wrote", name)
		}
	}
	// Exactly what completed, plus possibly the statement in flight.
	withInflight := maps.Clone(expected)
	if inflight != "" {
		apply(withInflight, inflight)
	}
	names := func(m map[string]bool) string { return strings.Join(slices.Sorted(maps.Keys(m)), " ") }
	if got := names(actual); got != names(expected) && got != names(withInflight) {
		t.Fatalf("after a kill during %q the catalog holds\n  %s\nwant\n  %s\nor\n  %s", inflight, got, names(expected), names(withInflight))
	}
	return actual
}
