package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/sqlparse"
)

// testKey is an obviously fake key for tests.
var testKey = catalog.StaticKey([]byte("conncat-test-key-0123456789abcde"))

func mustExec(t *testing.T, c *catalog.Executor, script string) []*catalog.Result {
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

// newStore is a store on a fresh SQLite file, closed when the test ends.
func newStore(t *testing.T) (*sql.DB, *sqlite.Store) {
	t.Helper()
	db, err := sql.Open("sqlite3", sqlite.DSN(filepath.Join(t.TempDir(), "cat.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := sqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return db, st
}

// storeAt is newStore with its schema at version.
func storeAt(t *testing.T, version int) (*sql.DB, *sqlite.Store) {
	t.Helper()
	db, st := newStore(t)
	if err := st.MigrateTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db, st
}

// TestMigrateFromFirstVersion writes a catalog at schema version 1, then
// opens it with the current code, which migrates it and keeps its data.
func TestMigrateFromFirstVersion(t *testing.T) {
	db, st := storeAt(t, 1)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'mz_connection_validations'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("version 1 should not have mz_connection_validations (n=%d, %v)", n, err)
	}
	if _, err := db.Exec(`INSERT INTO mz_secrets (id, name, created_at, updated_at) VALUES ('u1', 'old', 'then', 'then');
		INSERT INTO mz_connections VALUES ('u2', 'r', 'aws', 'o', 'CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = ''arn:aws:iam::123456789012:role/A'')', '', 'then', 'then');
		INSERT INTO mz_aws_connections (id, assume_role_arn, external_id) VALUES ('u2', 'arn:aws:iam::123456789012:role/A', 'old-external-id');
		UPDATE conncat_ids SET next = 3`); err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Open(context.Background(), st, catalog.Options{Keys: testKey})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRow(`SELECT version FROM conncat_schema`).Scan(&v); err != nil || v != sqlite.SchemaVersion() {
		t.Fatalf("version = %d (%v), want %d", v, err, sqlite.SchemaVersion())
	}
	if r := mustExec(t, c, `SELECT name FROM mz_secrets; SELECT count(*) FROM mz_connection_validations`); r[0].Rows[0][0] != "old" || r[1].Rows[0][0] != int64(0) {
		t.Fatalf("after migration: %v %v", r[0].Rows, r[1].Rows)
	}
	// Migration 3 remembered the old connection's external ID: switching
	// to static keys and back keeps it.
	mustExec(t, c, `CREATE SECRET sk AS 'fake';
		ALTER CONNECTION r SET (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk), DROP (ASSUME ROLE ARN);
		ALTER CONNECTION r SET (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A'), DROP (ACCESS KEY ID, SECRET ACCESS KEY)`)
	if r := mustExec(t, c, `SELECT external_id FROM mz_aws_connections`); r[0].Rows[0][0] != "old-external-id" {
		t.Fatalf("external ID after migration and a round trip through static keys: %v", r[0].Rows)
	}
}

// TestMigrationFiveKeepsTheFeedAndExternalIDs: the feed's sequence goes
// on from where it was (watchers in other processes compare numbers), and
// external IDs stay unique and tied to their connections.
func TestMigrationFiveKeepsTheFeedAndExternalIDs(t *testing.T) {
	ctx := context.Background()
	db, st := storeAt(t, 4)
	if _, err := db.Exec(`INSERT INTO conncat_changes (seq, ids) VALUES (41, 'u1'), (42, 'u2');
		INSERT INTO mz_connections VALUES ('u2', 'r', 'aws', 'o', 'CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = ''arn:aws:iam::123456789012:role/A'')', '', 'then', 'then');
		INSERT INTO conncat_external_ids (connection_id, external_id) VALUES ('u2', 'kept-external-id');
		UPDATE conncat_ids SET next = 3`); err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Open(ctx, st, catalog.Options{Keys: testKey})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, `DROP CONNECTION r`)
	var seq int64
	if err := db.QueryRow(`SELECT max(seq) FROM conncat_changes`).Scan(&seq); err != nil || seq != 43 {
		t.Errorf("the feed went on at %d (%v), want 43", seq, err)
	}
	var ddl string
	if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'conncat_external_ids'`).Scan(&ddl); err != nil ||
		!strings.Contains(ddl, "external_id   TEXT NOT NULL UNIQUE") || !strings.Contains(ddl, "WITHOUT ROWID") ||
		!strings.Contains(ddl, "ON DELETE CASCADE") {
		t.Errorf("conncat_external_ids is now %q (%v)", ddl, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM conncat_external_ids WHERE connection_id = 'u2'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a dropped connection's external ID is kept (%d, %v)", n, err)
	}
}

// TestMigrationSixRebuildsWithoutRowid: the tables SELECT reads are
// rebuilt WITHOUT ROWID with every row kept, the rows that reference them
// untouched (foreign keys off during the rebuild: with them on, dropping
// the old mz_connections would have deleted every dependent row by
// cascade), and the references still enforced afterwards.
func TestMigrationSixRebuildsWithoutRowid(t *testing.T) {
	ctx := context.Background()
	db, st := storeAt(t, 5)
	if _, err := db.Exec(`INSERT INTO mz_secrets VALUES ('u1', 'k', 'then', 'then');
		INSERT INTO mz_connections VALUES ('u2', 'a', 'aws', 'o', 'CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = ''arn:aws:iam::123456789012:role/A'')', '', 'then', 'then');
		INSERT INTO mz_connections VALUES ('u3', 's', 's3', 'o', 'CREATE CONNECTION s TO S3 (PREFIX = ''s3://b/'') USING AWS CONNECTION a', '', 'then', 'then');
		INSERT INTO mz_aws_connections (id, assume_role_arn, external_id) VALUES ('u2', 'arn:aws:iam::123456789012:role/A', 'kept-external-id');
		INSERT INTO mz_s3_connections VALUES ('u3', 'u2', 'b', '');
		INSERT INTO mz_object_dependencies VALUES ('u3', 'u2');
		INSERT INTO mz_connection_validations VALUES ('u2', 'then', 'credentials', 'PASS', 'ok');
		INSERT INTO conncat_external_ids VALUES ('u2', 'kept-external-id');
		UPDATE conncat_ids SET next = 4`); err != nil {
		t.Fatal(err)
	}
	if err := st.Open(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"mz_secrets", "mz_connections", "mz_aws_connections", "mz_s3_connections", "mz_object_dependencies", "mz_connection_validations"} {
		var ddl string
		if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = ?`, table).Scan(&ddl); err != nil || !strings.Contains(ddl, "WITHOUT ROWID") {
			t.Errorf("%s is %q (%v)", table, ddl, err)
		}
	}
	var rows int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM mz_secrets) + (SELECT count(*) FROM mz_connections) + (SELECT count(*) FROM mz_aws_connections)
		+ (SELECT count(*) FROM mz_s3_connections) + (SELECT count(*) FROM mz_object_dependencies) + (SELECT count(*) FROM mz_connection_validations)
		+ (SELECT count(*) FROM conncat_external_ids)`).Scan(&rows); err != nil || rows != 8 {
		t.Fatalf("%d rows after the rebuild (%v), want 8", rows, err)
	}
	if _, err := db.Exec(`INSERT INTO mz_aws_connections (id) VALUES ('u99')`); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("a row referencing nothing: %v", err)
	}
	if _, err := db.Exec(`DELETE FROM mz_s3_connections; DELETE FROM mz_connections WHERE id = 'u2'`); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM mz_aws_connections) + (SELECT count(*) FROM mz_connection_validations) + (SELECT count(*) FROM conncat_external_ids)`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("ON DELETE CASCADE after the rebuild left %d rows (%v)", rows, err)
	}
}

// TestOpenAddsMissingOptionColumns: a catalog that lacks an option's
// column (written before the option existed; here dropped by hand) gets it
// when a store opens it, at the end of the table, and the option then
// round-trips; opening again adds nothing.
func TestOpenAddsMissingOptionColumns(t *testing.T) {
	ctx := context.Background()
	db, st := newStore(t)
	if err := st.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`ALTER TABLE mz_aws_connections DROP COLUMN assume_role_duration`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		again, err := sqlite.New(db)
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Open(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var last string
	if err := db.QueryRow(`SELECT name FROM pragma_table_info('mz_aws_connections') ORDER BY cid DESC LIMIT 1`).Scan(&last); err != nil || last != "assume_role_duration" {
		t.Fatalf("last column %q (%v), want the added assume_role_duration", last, err)
	}
	c, err := catalog.Open(ctx, st, catalog.Options{Keys: testKey})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, `CREATE CONNECTION d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', ASSUME ROLE DURATION = '2h')`)
	if got := mustExec(t, c, `SELECT assume_role_duration FROM mz_aws_connections`)[0].Rows[0][0]; got != int64(7200) {
		t.Errorf("assume_role_duration = %v, want 7200", got)
	}
}
