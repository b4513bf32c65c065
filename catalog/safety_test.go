package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// Obviously fake values that must never appear anywhere readable.
const (
	fakeSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fakeRotated   = "ROTATEDfakeSECRETvalueEXAMPLE0000000000"
	fakeToken     = "FQoGZXIvYXdzEXAMPLEsessionTOKENvalue"
)

func mustExec(t testing.TB, c *catalog.Executor, script string) []*catalog.Result {
	t.Helper()
	stmts, err := sqlparse.Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	var out []*catalog.Result
	for _, s := range stmts {
		r, err := c.Exec(context.Background(), s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		out = append(out, r)
	}
	return out
}

// TestNoSecretAnywhere scans every catalog table, every SHOW, every error
// and notice, and the raw database and WAL bytes after CREATE SECRET, ALTER
// SECRET and an inline SESSION TOKEN, and finds no secret value.
func TestNoSecretAnywhere(t *testing.T) { forEachBackend(t, testNoSecretAnywhere) }

func testNoSecretAnywhere(t *testing.T, backend string) {
	c, raw := openOn(t, backend, catalog.Options{Principal: "arn:aws:iam::000000000000:role/conncat"})
	var seen strings.Builder
	record := func(v ...any) { fmt.Fprintln(&seen, v...) }
	for _, r := range mustExec(t, c, `
		CREATE SECRET sk AS '`+fakeSecretKey+`';
		CREATE SECRET IF NOT EXISTS sk AS '`+fakeSecretKey+`';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = '`+fakeToken+`');
		CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R');
		CREATE CONNECTION s3 TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION r;
		ALTER SECRET sk AS '`+fakeRotated+`';
		ALTER CONNECTION k SET (REGION = 'us-east-1');
		SHOW CONNECTIONS; SHOW SECRETS; SHOW CREATE CONNECTION k; SHOW TRUST POLICY FOR CONNECTION r;
		SHOW PERMISSION POLICY FOR CONNECTION s3`) {
		record(r.Tag, r.Columns, r.Rows, r.Notices)
	}
	for _, table := range []string{"mz_connections", "mz_aws_connections", "mz_s3_connections", "mz_secrets", "mz_object_dependencies", "mz_connection_validations"} {
		for _, r := range mustExec(t, c, "SELECT * FROM "+table) {
			record(r.Rows)
		}
	}
	// Errors and notices about the secret and the connections.
	for _, stmt := range []string{
		"CREATE SECRET sk AS '" + fakeSecretKey + "'",
		"DROP SECRET sk",
		"CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = '" + fakeToken + "')",
		"ALTER CONNECTION k SET (SESSION TOKEN = '" + fakeToken + "'), SET (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')",
		"SELECT * FROM conncat_secret_values",
	} {
		s, err := sqlparse.ParseOne(stmt)
		if err == nil {
			_, err = c.Exec(context.Background(), s)
		}
		if err == nil {
			t.Fatalf("%s: want an error", stmt)
		}
		record(err, fmt.Sprintf("%+v %#v", err, err))
		var e *sqlerror.Error
		if errors.As(err, &e) {
			record(sqlparse.Caret(e, stmt))
		}
	}
	// The resolved spec prints redacted under every verb.
	r, err := c.Resolve(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if r.AWS.SecretAccessKey != fakeRotated || r.AWS.SessionToken != fakeToken {
		t.Fatalf("Resolve did not return the current secrets")
	}
	record(fmt.Sprintf("%v %+v %#v %s", r, r.AWS, r.AWS, r.AWS))
	contents := raw()
	if !strings.Contains(contents, "AKIAIOSFODNN7EXAMPLE") {
		t.Fatal("the raw contents do not even hold the access key ID: the dump read nothing")
	}
	record(contents)
	for _, secret := range []string{fakeSecretKey, fakeRotated, fakeToken} {
		if strings.Contains(seen.String(), secret) {
			i := strings.Index(seen.String(), secret)
			t.Errorf("secret %q found near: %q", secret[:8], seen.String()[max(0, i-80):i])
		}
	}
}

// TestReopen: everything is as it was after closing and opening again.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cat.db")
	opts := catalog.Options{Keys: testKey, Now: fixedClock, Principal: "arn:aws:iam::000000000000:user/conncat"}
	db := openDB(t, path)
	c, err := catalog.Open(context.Background(), storeOf(t, db), opts)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, `CREATE SECRET sk AS '`+fakeSecretKey+`';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk);
		CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R');
		DROP CONNECTION k`)
	dump := func(c *catalog.Executor) string {
		var b strings.Builder
		for _, r := range mustExec(t, c, `SELECT * FROM mz_connections ORDER BY id; SELECT * FROM mz_aws_connections ORDER BY id; SELECT * FROM mz_secrets; SELECT * FROM mz_object_dependencies`) {
			fmt.Fprintln(&b, r.Rows)
		}
		return b.String()
	}
	before := dump(c)
	db.Close()
	c2, err := catalog.Open(context.Background(), storeOf(t, openDB(t, path)), opts)
	if err != nil {
		t.Fatal(err)
	}
	if after := dump(c2); after != before {
		t.Fatalf("catalog changed across reopen:\nbefore: %s\nafter:  %s", before, after)
	}
	// The ID counter survived too: the next object is u4, not a reused u2.
	mustExec(t, c2, `CREATE SECRET next AS 'x'`)
	if r := mustExec(t, c2, `SELECT id FROM mz_secrets WHERE name = 'next'`); r[0].Rows[0][0] != "u4" {
		t.Fatalf("next id = %v, want u4", r[0].Rows[0][0])
	}
}

// TestWrongKey: a catalog opened with another key refuses to open and
// changes nothing.
func TestWrongKey(t *testing.T) {
	_, path := newCatalog(t, catalog.Options{})
	before, _ := os.ReadFile(path)
	_, err := catalog.Open(context.Background(), storeOf(t, openDB(t, path)), catalog.Options{Keys: catalog.StaticKey(bytes.Repeat([]byte("k"), 32))})
	if !errors.Is(err, catalog.ErrKeyMismatch) {
		t.Fatalf("err = %v, want ErrKeyMismatch", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("opening with the wrong key changed the database file")
	}
}

func TestFileKey(t *testing.T) {
	dir := t.TempDir()
	k := catalog.FileKey{Path: filepath.Join(dir, "cat.key")}
	key, err := k.Key(context.Background())
	if err != nil || len(key) != 32 {
		t.Fatalf("create: %v (len %d)", err, len(key))
	}
	info, _ := os.Stat(k.Path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %#o, want 0600", info.Mode().Perm())
	}
	again, err := k.Key(context.Background())
	if err != nil || !bytes.Equal(key, again) {
		t.Fatalf("second read: %v", err)
	}
	if err := os.Chmod(k.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Key(context.Background()); err == nil || !strings.Contains(err.Error(), "must not be readable") {
		t.Fatalf("world-readable key file: err = %v", err)
	}
	short := catalog.FileKey{Path: filepath.Join(dir, "short.key")}
	os.WriteFile(short.Path, []byte("too short"), 0o600)
	if _, err := short.Key(context.Background()); err == nil {
		t.Fatal("short key file accepted")
	}
}

// TestConcurrentDDLAndSelect runs DDL and SELECT from 16 goroutines (run
// under -race by the test command); every statement either succeeds or
// fails with an expected SQLSTATE, never with SQLITE_BUSY.
func TestConcurrentDDLAndSelect(t *testing.T) { forEachBackend(t, testConcurrentDDLAndSelect) }

func testConcurrentDDLAndSelect(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{Principal: "arn:aws:iam::000000000000:role/conncat"})
	mustExec(t, c, `CREATE SECRET sk AS '`+fakeSecretKey+`'`)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16*40)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				name := fmt.Sprintf("c%d_%d", g, i)
				for _, sql := range []string{
					fmt.Sprintf("CREATE CONNECTION %s TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R%d')", name, i),
					fmt.Sprintf("CREATE CONNECTION %s_s3 TO S3 (PREFIX = 's3://bucket/%d/') USING AWS CONNECTION %s", name, i, name),
					"SELECT count(*) FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id",
					fmt.Sprintf("ALTER CONNECTION %s SET (REGION = 'us-east-1')", name),
					fmt.Sprintf("DROP CONNECTION %s CASCADE", name),
				} {
					stmt, err := sqlparse.ParseOne(sql)
					if err == nil {
						_, err = c.Exec(ctx, stmt)
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", sql, err)
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r := mustExec(t, c, `SELECT count(*) FROM mz_connections; SELECT count(*) FROM mz_object_dependencies`)
	if r[0].Rows[0][0] != int64(0) || r[1].Rows[0][0] != int64(0) {
		t.Fatalf("left behind: %v connections, %v dependencies", r[0].Rows, r[1].Rows)
	}
}

// TestFileKeyCreatedOnceUnderRace: nodes that start together with one key
// file path all get the same key, and none reads a half-written file.
func TestFileKeyCreatedOnceUnderRace(t *testing.T) {
	for range 20 {
		path := filepath.Join(t.TempDir(), "race.key")
		keys := make([][]byte, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys[i], errs[i] = catalog.FileKey{Path: path}.Key(context.Background())
			}()
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil || !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("goroutine %d: key %x, err %v; goroutine 0 got %x", i, keys[i], errs[i], keys[0])
			}
		}
		if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".race.key.new-*")); len(leftovers) > 0 {
			t.Fatalf("temporary key files left behind: %v", leftovers)
		}
	}
}
