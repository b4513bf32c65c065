package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// guardSeeds are queries that pass the gate and queries that try to get
// around it; the fuzzer mutates them.
var guardSeeds = []string{
	`SELECT c.name, a.principal, a.external_id FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id WHERE c.name LIKE 'a%'`,
	`SELECT count(*), max(name), min(created_at) FROM mz_secrets`,
	`SELECT name, row_number() OVER (ORDER BY name) FROM mz_catalog.mz_connections LIMIT 2, 3`,
	`WITH RECURSIVE deps(id) AS (SELECT 'u1' UNION SELECT d.object_id FROM mz_object_dependencies d JOIN deps ON d.referenced_object_id = deps.id) SELECT * FROM deps`,
	`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT x FROM n`,
	`SELECT * FROM conncat_secret_values WHERE 1 IN (WITH conncat_secret_values AS (SELECT 1) SELECT * FROM conncat_secret_values)`,
	`SELECT * FROM (SELECT id FROM mz_s3_connections UNION SELECT id FROM mz_connection_validations) t WHERE EXISTS (SELECT 1 FROM mz_internal.mz_object_dependencies)`,
	`SELECT json_extract(example_trust_policy, '$.Statement[0].Effect'), iif(region IS NULL, 'none', upper(region)) || '-' FROM mz_aws_connections`,
	`SELECT CAST(assume_role_duration AS CHAR), hex(name), substr(name, 2), replace(name, 'a', 'b') FROM mz_connections JOIN mz_aws_connections USING (id)`,
	`SELECT load_extension('x')`,
	`SELECT * FROM sqlite_master`,
	`SELECT * FROM main.conncat_secret_values`,
	`SELECT * FROM pragma_table_info('mz_connections')`,
	`SELECT name FROM mz_connections; ATTACH 'x.db' AS x`,
	`SELECT CASE WHEN name BETWEEN 'a' AND 'z' THEN 1 ELSE 0 END, name IS NOT NULL, name IN ('a', 'b') FROM mz_connections ORDER BY 1 DESC`,
}

// FuzzQueryGuard checks that the query gate is tight: whatever passes it
// compiles in SQLite to nothing but reads of catalog tables and calls of
// allowed functions. The catalog's SQLite authorizer (readGuard) enforces
// exactly that at run time; an input that makes it fire got past the gate.
// Every other outcome (rows, a gate error, a SQLite error, a cancelled
// runaway query) must be a coded error or a result, and never a change.
func FuzzQueryGuard(f *testing.F) {
	for _, s := range guardSeeds {
		f.Add(s)
	}
	c, st := guardCatalog(f)
	before := guardSnapshot(f, st.db)
	f.Fuzz(func(t *testing.T, input string) {
		stmts, err := sqlparse.Parse(input)
		if err != nil {
			return
		}
		for _, s := range stmts {
			q, ok := s.(*sqlparse.Query)
			if !ok {
				continue
			}
			// A runaway query ends at the row budget or this deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
			_, err := c.Exec(ctx, q)
			cancel()
			var e *sqlerror.Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("query %q: uncoded error %v", q, err)
			}
			if e != nil && strings.HasPrefix(e.Message, guardMessage) {
				t.Fatalf("the gate let through a query SQLite's authorizer refused:\ninput: %q\nerror: %s", input, e.Message)
			}
		}
		if after := guardSnapshot(t, st.db); after != before {
			t.Fatalf("a query changed the catalog:\ninput: %q", input)
		}
	})
}

// TestReadGuard checks the guard itself on SQL the gate would never let
// through, compiled directly.
func TestReadGuard(t *testing.T) {
	_, st := guardCatalog(t)
	ctx := context.Background()
	for _, tc := range []struct {
		sql     string
		refused string // "" when the guard allows it
		ctes    []string
	}{
		{`WITH d(x) AS (SELECT 1) SELECT count(*) FROM d`, "", []string{"d"}},
		// A CTE may not take a reserved name (the gate refuses it), so a
		// reserved name never passes as a CTE, wherever it is defined.
		{`WITH conncat_secret_values(x) AS (SELECT 1) SELECT 1 FROM conncat_secret_values`, "read conncat_secret_values", []string{"conncat_secret_values"}},
		{`SELECT (WITH sqlite_master(x) AS (SELECT 1) SELECT 1), (SELECT count(*) FROM sqlite_master)`, "read sqlite_master", []string{"sqlite_master"}},
		{`SELECT count(*) FROM conncat_secret_values`, "read conncat_secret_values", []string{"d"}},
		{`SELECT name, created_at FROM mz_secrets`, "", nil},
		{`SELECT count(*) FROM mz_connections`, "", nil},
		{`WITH RECURSIVE n(x) AS (SELECT 1 UNION SELECT x + 1 FROM n WHERE x < 3) SELECT lower(x) FROM n`, "", nil},
		{`SELECT * FROM conncat_secret_values`, "read main.conncat_secret_values", []string{"conncat_secret_values"}},
		{`SELECT name FROM sqlite_master`, "read main.sqlite_master", nil},
		{`SELECT load_extension('x')`, "call load_extension()", nil},
		{`SELECT group_concat(name) FROM mz_connections`, "call group_concat()", nil},
		{`DELETE FROM mz_secrets`, "perform SQLite action 9 (mz_secrets, , main)", nil},
		{`ATTACH ':memory:' AS x`, "perform SQLite action 24 (:memory:, , )", nil},
		{`PRAGMA query_only = OFF`, "perform SQLite action 19 (query_only, OFF, )", nil},
	} {
		conn, err := st.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		g, unguard, err := guard(conn, tc.ctes, false)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := conn.QueryContext(ctx, tc.sql)
		if err == nil {
			rows.Close()
		}
		unguard()
		if g.refused != tc.refused {
			t.Errorf("%s: guard refused %q, want %q (err %v)", tc.sql, g.refused, tc.refused, err)
		}
		if (err != nil) != (tc.refused != "") {
			t.Errorf("%s: err %v, refused %q", tc.sql, err, g.refused)
		}
		// The connection goes back to the pool unguarded: the catalog's
		// own statements run on it.
		if _, err := conn.ExecContext(ctx, `UPDATE conncat_ids SET next = next`); err != nil {
			t.Errorf("after %s: connection still guarded: %v", tc.sql, err)
		}
		conn.Close()
	}
}

func guardCatalog(tb testing.TB) (*catalog.Executor, *Store) {
	tb.Helper()
	db, err := sql.Open("sqlite3", DSN(filepath.Join(tb.TempDir(), "guard.db")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	st, err := New(db)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := catalog.Open(context.Background(), st, catalog.Options{
		Principal: "arn:aws:iam::111122223333:role/conncat-principal",
		Keys:      catalog.StaticKey([]byte("conncat-test-key-0123456789abcde")),
	})
	if err != nil {
		tb.Fatal(err)
	}
	stmts, err := sqlparse.Parse(`
		CREATE SECRET sk AS 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
		CREATE CONNECTION keys TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, REGION = 'us-east-1');
		CREATE CONNECTION role TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::444455556666:role/r');
		CREATE CONNECTION bucket TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION role`)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := c.Exec(context.Background(), s); err != nil {
			tb.Fatal(err)
		}
	}
	return c, st
}

// guardSnapshot is every row of every table, as text.
func guardSnapshot(tb testing.TB, db *sql.DB) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range []string{"conncat_ids", "conncat_secret_values", "mz_secrets", "mz_connections", "mz_aws_connections", "mz_s3_connections", "mz_object_dependencies", "mz_connection_validations"} {
		rows, err := db.Query(`SELECT * FROM ` + table + ` ORDER BY 1`)
		if err != nil {
			tb.Fatal(err)
		}
		b.WriteString(table)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			fmt.Fprintf(&b, "%q\n", vals)
		}
		rows.Close()
	}
	return b.String()
}
