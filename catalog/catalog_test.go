package catalog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	_ "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// testKey is an obviously fake key for tests.
var testKey = catalog.StaticKey([]byte("conncat-test-key-0123456789abcde"))

func fixedClock() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

// openDB opens a fresh SQLite file the way conncat.Open does.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", sqlite.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// storeOf is the SQLite store of db.
func storeOf(t testing.TB, db *sql.DB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newCatalog(t testing.TB, opts catalog.Options) (*catalog.Executor, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cat.db")
	if opts.Keys == nil {
		opts.Keys = testKey
	}
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	c, err := catalog.Open(context.Background(), storeOf(t, openDB(t, path)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, path
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestGolden runs testdata/ files on every store, expecting the same
// output from each. Each file gets a fresh catalog, opened with
// the options on its first line's "open" directive if any.
//
//	open principal=ARN prefix=P allow-http statuses   reopen with these options (new catalog;
//	          statuses: mz_aws_connection_statuses holds sampleStatuses)
//	exec      each statement: its tag, notices and changed IDs, or its error
//	query     one statement: columns and rows (args=(v1,v2) bind $1, $2)
//
// Generated UUIDs print as <uuid>.
func TestGolden(t *testing.T) {
	forEachBackend(t, testGolden)
}

func testGolden(t *testing.T, backend string) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		slashed := filepath.ToSlash(path)
		if strings.Contains(slashed, "/fuzz/") {
			return // the fuzz corpus, not golden files
		}
		c := newCatalogOn(t, backend, catalog.Options{})
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			ctx := context.Background()
			switch d.Cmd {
			case "open":
				var opts catalog.Options
				for _, a := range d.CmdArgs {
					switch a.Key {
					case "principal":
						opts.Principal = a.Vals[0]
					case "prefix":
						opts.ExternalIDPrefix = a.Vals[0]
					case "allow-http":
						opts.Endpoints.AllowHTTP = true
					case "statuses":
						opts.Statuses = sampleStatuses
					}
				}
				c = newCatalogOn(t, backend, opts)
				return ""
			case "exec":
				var b strings.Builder
				for _, p := range sqlparse.Split(d.Input) {
					stmt, err := sqlparse.ParsePiece(d.Input, p)
					var res *catalog.Result
					if err == nil {
						res, err = c.Exec(ctx, stmt)
					}
					if err != nil {
						b.WriteString(formatError(d.Input, err))
						continue
					}
					b.WriteString(res.Tag + "\n")
					for _, n := range res.Notices {
						b.WriteString("notice: " + n + "\n")
					}
					if len(res.Changed) > 0 {
						b.WriteString("changed: " + strings.Join(res.Changed, ", ") + "\n")
					}
					if res.Columns != nil {
						b.WriteString(formatRows(res))
					}
				}
				return uuidRE.ReplaceAllString(b.String(), "<uuid>")
			case "query":
				stmt, err := sqlparse.ParseOne(d.Input)
				if err != nil {
					return formatError(d.Input, err)
				}
				var args []any
				for _, a := range d.CmdArgs {
					if a.Key == "args" {
						for _, v := range a.Vals {
							args = append(args, v)
						}
					}
				}
				res, err := c.Exec(ctx, stmt, args...)
				if err != nil {
					return formatError(d.Input, err)
				}
				return uuidRE.ReplaceAllString(formatRows(res), "<uuid>")
			default:
				t.Fatalf("unknown directive %q", d.Cmd)
				return ""
			}
		})
	})
}

func formatRows(res *catalog.Result) string {
	var b strings.Builder
	b.WriteString(strings.Join(res.Columns, " | ") + "\n")
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = fmt.Sprint(v)
			}
		}
		b.WriteString(strings.Join(cells, " | ") + "\n")
	}
	return b.String()
}

func formatError(input string, err error) string {
	var e *sqlerror.Error
	if !errors.As(err, &e) {
		return "error (untyped): " + err.Error() + "\n"
	}
	if e.Line == 0 {
		e.Locate(input)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "error %s: %s\n", e.Code, e.Error())
	if e.Hint != "" {
		b.WriteString("hint: " + e.Hint + "\n")
	}
	if c := sqlparse.Caret(e, input); c != "" {
		b.WriteString(c + "\n")
	}
	return b.String()
}

// sampleStatuses are rows of mz_aws_connection_statuses as a process
// would supply them, with text that must survive the restore unchanged on
// every store: quotes, a backslash, a non-ASCII name, and bytes neither
// database accepts in text (NUL, invalid UTF-8), which are dropped or
// replaced.
func sampleStatuses() []catalog.ConnectionStatus {
	at := func(min int) time.Time { return fixedClock().Add(time.Duration(min) * time.Minute) }
	return []catalog.ConnectionStatus{
		{ID: "u2", Status: "stale", LastStatusChangeAt: at(5), CredentialsExpireAt: at(60), LastRefreshAt: at(5),
			LastError: `AWS refused to let "engine" assume 'R' \ naïve` + "\x00\xff", STSCalls: 3},
		{ID: "u1", Status: "fresh", LastStatusChangeAt: at(1), CredentialsExpireAt: at(61), LastRefreshAt: at(1), STSCalls: 1,
			PackedPolicySize: 31, Role: "alice"},
		{ID: "u9", Status: "static", LastStatusChangeAt: at(0)},
	}
}

// TestManyStatuses: a process holding credentials for thousands of
// connections can still read its status table on every store.
func TestManyStatuses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		many := make([]catalog.ConnectionStatus, 5000)
		for i := range many {
			many[i] = catalog.ConnectionStatus{ID: fmt.Sprintf("u%d", i+1), Status: "fresh", STSCalls: int64(i)}
		}
		c := newCatalogOn(t, backend, catalog.Options{Statuses: func() []catalog.ConnectionStatus { return many }})
		stmt, err := sqlparse.ParseOne(`SELECT count(*) AS n, sum(sts_calls) AS calls FROM mz_aws_connection_statuses WHERE status = 'fresh'`)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Exec(context.Background(), stmt)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(res.Rows); got != "[[5000 12497500]]" {
			t.Errorf("rows %s", got)
		}
	})
}
