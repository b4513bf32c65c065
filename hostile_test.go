package conncat_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat"
)

// snapshot renders every catalog table (and the sealed values) so that a
// refused statement can be shown to have changed nothing.
func snapshot(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"mz_connections", "mz_aws_connections", "mz_s3_connections", "mz_secrets", "mz_object_dependencies", "mz_connection_validations", "conncat_secret_values", "conncat_ids"} {
		rows, err := db.Query("SELECT * FROM " + table + " ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

// TestHostileInput: statements that try to get around the rules are
// refused with the expected SQLSTATE, never panic, never leak the secret
// in the error, and leave the catalog exactly as it was.
func TestHostileInput(t *testing.T) { forEachBackend(t, testHostileInput) }

func testHostileInput(t *testing.T, backend string) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	cat, raw := openOn(t, backend, conncat.WithPublicAddressesOnly())
	mustExec(t, cat, `CREATE SECRET sk AS '`+secret+`'`)
	mustExec(t, cat, `CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk)`)

	nested := strings.Repeat("SELECT * FROM (", 200) + "SELECT 1" + strings.Repeat(")", 200)
	for _, tc := range []struct{ name, sql, code string }{
		{"second statement smuggled after a SELECT", "SELECT 1; DROP TABLE mz_secrets", "42601"},
		{"stacked query inside a string", "SELECT name FROM mz_secrets WHERE name = ''; DELETE FROM mz_secrets; --'", "0A000"},
		{"read sqlite_master", "SELECT name, type FROM sqlite_master", "42P01"},
		{"read the sealed values", "SELECT ciphertext FROM conncat_secret_values", "42P01"},
		{"read the sealed values through a schema", "SELECT * FROM main.conncat_secret_values", "42P01"},
		{"pragma", "PRAGMA writable_schema = 1", "0A000"},
		{"attach", "ATTACH DATABASE '/tmp/evil.db' AS evil", "0A000"},
		{"load an extension", "SELECT load_extension('/tmp/evil.so')", "42883"},
		{"write through a CTE", "WITH x AS (DELETE FROM mz_secrets RETURNING *) SELECT * FROM x", "42601"},
		{"insert", "INSERT INTO mz_secrets VALUES ('u9', 'x', '', '')", "0A000"},
		{"identifier over the limit", "CREATE SECRET " + strings.Repeat("a", 300) + " AS 'x'", "42622"},
		{"value over the limit", "CREATE SECRET big AS '" + strings.Repeat("x", 70<<10) + "'", "54000"},
		{"NUL byte in a name", "CREATE SECRET \"a\x00b\" AS 'x'", "22021"},
		{"invalid UTF-8 in a query", "SELECT '\xff\xfe' FROM mz_secrets", "22021"},
		{"subqueries nested 200 deep", nested, "54000"},
		{"endpoint at the instance metadata service", "CREATE CONNECTION imds TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, ENDPOINT = 'https://169.254.169.254/latest/')", "22023"},
		{"endpoint at a private address", "ALTER CONNECTION k SET (ENDPOINT = 'https://10.0.0.8:9000')", "22023"},
		{"STS endpoint at localhost", "ALTER CONNECTION k SET (STS ENDPOINT = 'http://localhost:4566')", "22023"},
		{"choose the external ID", "CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R', EXTERNAL ID = 'known')", "22023"},
		{"drop a secret still in use", "DROP SECRET sk", "2BP01"},
		{"a CTE named like the sealed values", "WITH conncat_secret_values AS (SELECT 1) SELECT (SELECT count(*) FROM conncat_secret_values)", "42939"},
		{"a CTE named like sqlite_master, read elsewhere", "SELECT (WITH sqlite_master AS (SELECT 1) SELECT 1), (SELECT count(*) FROM sqlite_master)", "42939"},
		{"a name that paints the terminal", "CREATE SECRET \"\x1b[2J\" AS 'x'", "42602"},
		{"a prefix that IAM reads as a wildcard", "CREATE CONNECTION s TO S3 (PREFIX = 's3://bucket/a*/') USING AWS CONNECTION k", "22023"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, raw)
			_, err := cat.Exec(context.Background(), tc.sql)
			var e *conncat.Error
			if !errors.As(err, &e) {
				t.Fatalf("want a SQLSTATE error, got %v", err)
			}
			if e.Code != tc.code {
				t.Errorf("code %s (%s), want %s", e.Code, e.Message, tc.code)
			}
			if strings.Contains(e.Message+e.Detail+e.Hint, secret) {
				t.Errorf("error leaks the secret: %v", e)
			}
			if after := snapshot(t, raw); after != before {
				t.Errorf("a refused statement changed the catalog")
			}
		})
	}

	// The query SQLite runs is the one typed: "1 - -1" must not become
	// "1--1" (a comment to SQLite) nor "1 | 2 & 0" change precedence.
	// An alias that reads as SQL stays an alias (one with a line break is
	// refused as any name holding a control character is).
	sums := mustExec(t, cat, "SELECT 1 - -1 AS \" FROM conncat_secret_values --\", 1 | 2 & 0")
	if got := fmt.Sprint(sums[0].Rows); got != "[[2 1]]" {
		t.Fatalf("SELECT 1 - -1, 1 | 2 & 0 = %s, want [[2 1]]", got)
	}
	_, err := cat.Exec(context.Background(), "SELECT 1 AS \"\nFROM conncat_secret_values --\"")
	wantCode(t, "an alias with a line break", err, conncat.CodeInvalidName, "U+000A")

	// Injection through a name is just a name: it round-trips exactly and
	// nothing else happens.
	evil := `x'); DROP TABLE mz_secrets; --`
	mustExec(t, cat, `CREATE SECRET "`+evil+`" AS 'v'`)
	res := mustExec(t, cat, `SELECT name FROM mz_secrets WHERE name LIKE 'x%'`)
	if len(res[0].Rows) != 1 || res[0].Rows[0][0] != evil {
		t.Fatalf("name did not round-trip: %v", res[0].Rows)
	}

	// A query that never ends is stopped by the row budget or the
	// context, with a clear error.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = cat.Exec(ctx, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n")
	var e *conncat.Error
	if !errors.As(err, &e) || (e.Code != "57014" && e.Code != "54000") {
		t.Fatalf("runaway query: %v", err)
	}
}
