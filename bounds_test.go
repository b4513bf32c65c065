package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/sqlparse"
)

// wantCode asserts err is a *conncat.Error with code (and, if given, a
// message containing text).
func wantCode(t *testing.T, what string, err error, code, text string) {
	t.Helper()
	var e *conncat.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: want a *conncat.Error %s, got %T %v", what, code, err, err)
	}
	if e.Code != code || !strings.Contains(e.Message, text) {
		t.Fatalf("%s: got %s %q, want %s containing %q", what, e.Code, e.Message, code, text)
	}
}

// TestStatementBounds: no single statement builds values past the query
// value limit, and the dialect's limits hold for SELECT and through
// ExecPiece too. These limits are checked with no time budget at all
// (only a hang bound far above any run): a budget near them would race
// the cap on a busy machine. The time budget has its own test below.
func TestStatementBounds(t *testing.T) {
	cat := openTest(t, conncat.WithStatementTimeout(testenv.HangBound))
	ctx := context.Background()
	inList := "SELECT count(*) FROM mz_connections WHERE 1 IN (" + strings.Repeat("1,", 150_000) + "1)"
	for _, tc := range []struct{ name, sql, code, text string }{
		{"self-doubling string", "WITH RECURSIVE r(s) AS (SELECT 'x' UNION ALL SELECT s||s FROM r WHERE length(s) < 900000000) SELECT max(length(s)) FROM r", "54000", "MiB"},
		{"nested replace", "SELECT length(" + strings.Repeat("replace(", 9) + "'xxxxxxxxxx'" + strings.Repeat(",'x','xxxxxxxxxx')", 9) + ")", "54000", "MiB"},
		{"a long IN-list", inList, "54000", "tokens"},
		{"a literal over 64 KiB in a query", "SELECT '" + strings.Repeat("x", 70<<10) + "'", "54000", "string literal"},
		{"NUL in a query", "SELECT 'a\x00b'", "22021", "NUL"},
		{"a bare name over 255 bytes in a query", "SELECT " + strings.Repeat("c", 300) + " FROM mz_connections", "42622", "identifier"},
	} {
		start := time.Now()
		_, err := cat.Exec(ctx, tc.sql)
		wantCode(t, tc.name, err, tc.code, tc.text)
		t.Logf("%s: %s after %v", tc.name, tc.code, time.Since(start).Round(time.Millisecond))
	}

	// ExecPiece holds the statement limit too (Exec's Parse checked it).
	huge := "SELECT 1 -- " + strings.Repeat("x", sqlparse.MaxScriptLen)
	_, err := cat.ExecPiece(ctx, huge, sqlparse.Piece{Text: huge})
	wantCode(t, "ExecPiece over 4 MiB", err, "54000", "longer than")

	// A caller's cancellation is PostgreSQL's other 57014.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = cat.Exec(cancelled, "SELECT count(*) FROM mz_connections")
	wantCode(t, "cancelled by the caller", err, "57014", "user request")
}

// TestStatementTimeout: a statement still running at the statement budget
// is cancelled with 57014. The query builds no value at all (it counts),
// so no other limit can end it first, however slow the machine.
func TestStatementTimeout(t *testing.T) {
	cat := openTest(t, conncat.WithStatementTimeout(500*time.Millisecond))
	_, err := cat.Exec(context.Background(), "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n")
	wantCode(t, "endless recursive count", err, "57014", "statement timeout")
}

// TestEveryErrorCoded: a closed catalog answers every call with 08003,
// never a bare database/sql error.
func TestEveryErrorCoded(t *testing.T) {
	cat := openTest(t)
	ctx := context.Background()
	mustExec(t, cat, `CREATE SECRET sk AS 'fake'; CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk);
		CREATE CONNECTION s TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION k`)
	cat.Close()
	_, err := cat.Exec(ctx, "SHOW CONNECTIONS")
	wantCode(t, "Exec", err, "08003", "closed")
	_, err = cat.ExecPiece(ctx, "SHOW SECRETS", sqlparse.Piece{Text: "SHOW SECRETS"})
	wantCode(t, "ExecPiece", err, "08003", "closed")
	_, err = cat.Resolve(ctx, "k")
	wantCode(t, "Resolve", err, "08003", "closed")
	_, err = cat.AWSConfig(ctx, "k")
	wantCode(t, "AWSConfig", err, "08003", "closed")
	_, err = cat.S3Location(ctx, "s")
	wantCode(t, "S3Location", err, "08003", "closed")
}

// TestNamesThatLookAlike: a name may not hold a character that cannot be
// seen (zero-width, format, default-ignorable, a space other than ASCII's),
// so "prod" and a name that only looks like it cannot both exist; and
// every name in a query, however it is quoted, keeps the 255-byte limit.
// On both stores.
func TestNamesThatLookAlike(t *testing.T) { forEachBackend(t, testNamesThatLookAlike) }

func testNamesThatLookAlike(t *testing.T, backend string) {
	cat, _ := openOn(t, backend)
	ctx := context.Background()
	mustExec(t, cat, `CREATE SECRET prod AS 'fake'`)
	for _, r := range []rune{0x200B, 0xFEFF, 0x00AD, 0x2060, 0x180E, 0x034F, 0x3164, 0xE0041, 0xFE0F, 0x00A0, 0x3000, 0x200D, 0x2028} {
		for _, name := range []string{"pro" + string(r) + "d", `"pro` + string(r) + `d"`} {
			_, err := cat.Exec(ctx, "CREATE SECRET "+name+" AS 'fake'")
			wantCode(t, fmt.Sprintf("a name with %U", r), err, conncat.CodeInvalidName, fmt.Sprintf("%U", r))
		}
		_, err := cat.Exec(ctx, "SELECT `pro"+string(r)+"d` FROM mz_secrets")
		wantCode(t, fmt.Sprintf("a query name with %U", r), err, conncat.CodeInvalidName, fmt.Sprintf("%U", r))
	}
	long := strings.Repeat("c", 1000)
	for _, sql := range []string{
		"SELECT `" + long + "` FROM mz_connections",
		"SELECT 1 AS `" + long[:300] + "`",
		`SELECT 1 AS "` + long[:300] + `"`,
		"SELECT x.id FROM mz_connections AS `" + long[:300] + "`",
		"WITH `" + long[:300] + "` AS (SELECT 1) SELECT 1",
		"WITH w(`" + long[:300] + "`) AS (SELECT 1) SELECT 1",
		"SELECT * FROM `" + long[:300] + "`",
	} {
		_, err := cat.Exec(ctx, sql)
		wantCode(t, sql[:40], err, conncat.CodeNameTooLong, "longer than 255 bytes")
	}
	if res := mustExec(t, cat, "SELECT `name` AS `"+long[:255]+"` FROM mz_secrets"); res[0].Columns[0] != long[:255] {
		t.Fatalf("a 255-byte alias: %v", res[0].Columns)
	}
}

// megabyte is an expression both stores compute to a text of 10^6 bytes.
const megabyte = "replace(replace(replace(replace(replace('xxxxxxxxxx','x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx')"

// multiplied returns one value of 10^6 bytes times rows, through a
// recursive CTE: a short query with a large result.
func multiplied(rows int) string {
	return fmt.Sprintf("WITH RECURSIVE r(n, s) AS (SELECT 1, %s UNION ALL SELECT n + 1, s FROM r WHERE n < %d) SELECT n, s FROM r", megabyte, rows)
}

// TestResultBudgets: a statement's result is bounded in bytes while its
// rows are read (54000 naming the budget and its option), and the result
// bytes all running statements of the process hold are bounded too
// (53200), on both stores. A result under both budgets comes back whole.
func TestResultBudgets(t *testing.T) { forEachBackend(t, testResultBudgets) }

func testResultBudgets(t *testing.T, backend string) {
	cat, _ := openOn(t, backend, conncat.WithMaxResultBytes(4<<20))
	ctx := context.Background()
	res, err := cat.Exec(ctx, multiplied(3))
	if err != nil || len(res[0].Rows) != 3 || len(res[0].Rows[2][1].(string)) != 1_000_000 {
		t.Fatalf("3 MB under a 4 MiB budget: %v", err)
	}
	_, err = cat.Exec(ctx, multiplied(300))
	wantCode(t, "300 MB under a 4 MiB budget", err, conncat.CodeProgramLimitExceeded, "larger than 4 MiB")
	if e := err.(*conncat.Error); !strings.Contains(e.Hint, "WithMaxResultBytes") || !strings.Contains(e.Hint, "-max-result-bytes") {
		t.Errorf("the hint does not name the option: %q", e.Hint)
	}

	defer conncat.SetMaxProcessResultBytes(conncat.DefaultMaxProcessResultBytes)
	conncat.SetMaxProcessResultBytes(2 << 20)
	_, err = cat.Exec(ctx, multiplied(3))
	wantCode(t, "3 MB under a 2 MiB process budget", err, conncat.CodeOutOfMemory, "process's budget")
	conncat.SetMaxProcessResultBytes(conncat.DefaultMaxProcessResultBytes)
	// What the failed statement held was given back.
	if _, err := cat.Exec(ctx, multiplied(3)); err != nil {
		t.Fatalf("after the process budget was restored: %v", err)
	}
}

// TestPostgresHugeValueNotRead: on PostgreSQL a SELECT runs in the node's
// replica, so a value it computes is held to SQLite's cap as on the file
// (54000); and a row over MaxPostgresMessageBytes that reached the
// database behind conncat's back is refused before pgx reads it (54000),
// the node goes on answering, and it reads the row again once it is fixed.
func TestPostgresHugeValueNotRead(t *testing.T) {
	p := newPlace(t, "postgres")
	cat := p.open(t)
	ctx := context.Background()
	_, err := cat.Exec(ctx, "SELECT length(concat("+strings.Repeat(megabyte+",", 19)+megabyte+")) AS n")
	wantCode(t, "a 20 MB value computed", err, conncat.CodeProgramLimitExceeded, "over 8 MiB")
	mustExec(t, cat, `CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/C')`)
	raw := p.raw(t)
	if _, err := raw.Exec(`UPDATE ` + p.schema + `.mz_connections SET redacted_create_sql = repeat('x', 20 << 20)`); err != nil {
		t.Fatal(err)
	}
	_, err = cat.Exec(ctx, "SELECT count(*) FROM mz_connections")
	wantCode(t, "a 20 MB row in the database", err, conncat.CodeProgramLimitExceeded, "larger than 16 MiB")
	if _, err := raw.Exec(`UPDATE ` + p.schema + `.mz_connections SET redacted_create_sql = 'fixed'`); err != nil {
		t.Fatal(err)
	}
	if res := mustExec(t, cat, "SELECT redacted_create_sql FROM mz_connections"); res[0].Rows[0][0] != "fixed" {
		t.Fatalf("after the fix: %v", res[0].Rows)
	}
}
