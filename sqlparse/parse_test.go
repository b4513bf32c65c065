package sqlparse_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// TestGolden runs the golden files under testdata/. Directives:
//
//	parse            each statement: its canonical redacted form, then
//	                 "unredacted: ..." when that differs; or the error
//	                 with its caret. Every printed form is re-parsed and
//	                 must print identically (print/parse is a fixed point).
//	query            a SELECT: canonical form, the tables it reads, and the
//	                 SQLite text with tables resolved to "cat_<name>".
//	split            the pieces Split cuts a script into.
//	redact-source    RedactSource of the input, and the caret display of an
//	                 error at the first byte of the token after "pos=N".
//
// Rewrite expectations with: go test ./sqlparse -run TestGolden -rewrite
func TestGolden(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if strings.Contains(filepath.ToSlash(path), "/fuzz/") {
			return // the fuzz seed corpus, not golden files
		}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "parse":
				return runParse(t, d.Input)
			case "query":
				return runQuery(t, d.Input)
			case "split":
				var b strings.Builder
				for _, p := range sqlparse.Split(d.Input) {
					fmt.Fprintf(&b, "%d: %q\n", p.Offset, p.Text)
				}
				return b.String()
			case "redact-source":
				return sqlparse.RedactSource(d.Input) + "\n"
			default:
				t.Fatalf("unknown directive %q", d.Cmd)
				return ""
			}
		})
	})
}

func runParse(t *testing.T, input string) string {
	var b strings.Builder
	for _, p := range sqlparse.Split(input) {
		stmt, err := sqlparse.ParsePiece(input, p)
		if err != nil {
			b.WriteString(formatError(input, err))
			continue
		}
		redacted, unredacted := stmt.String(), stmt.UnredactedSQL()
		b.WriteString(redacted + "\n")
		if unredacted != redacted {
			b.WriteString("unredacted: " + unredacted + "\n")
		}
		checkFixedPoint(t, unredacted)
	}
	return b.String()
}

// checkFixedPoint re-parses a printed statement and requires it to print
// the same way: the printer and the parser agree on every statement.
func checkFixedPoint(t *testing.T, printed string) {
	t.Helper()
	again, err := sqlparse.ParseOne(printed)
	if err != nil {
		t.Errorf("printed form does not re-parse: %s\n%v", printed, err)
		return
	}
	if got := again.UnredactedSQL(); got != printed {
		t.Errorf("print/parse is not a fixed point:\n first: %s\nsecond: %s", printed, got)
	}
}

func formatError(input string, err error) string {
	var e *sqlerror.Error
	if !errors.As(err, &e) {
		return "unexpected error type: " + err.Error() + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "error %s: %s\n", e.Code, e.Error())
	if e.Detail != "" {
		fmt.Fprintf(&b, "detail: %s\n", e.Detail)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "hint: %s\n", e.Hint)
	}
	if c := sqlparse.Caret(e, input); c != "" {
		b.WriteString(c + "\n")
	}
	return b.String()
}

func runQuery(t *testing.T, input string) string {
	stmt, err := sqlparse.ParseOne(input)
	if err != nil {
		return formatError(input, err)
	}
	q, ok := stmt.(*sqlparse.Query)
	if !ok {
		return fmt.Sprintf("not a query: %T\n", stmt)
	}
	var b strings.Builder
	canonical := q.String()
	b.WriteString(canonical + "\n")
	checkFixedPoint(t, canonical)
	var names []string
	for _, tr := range q.Tables() {
		names = append(names, tr.String())
	}
	fmt.Fprintf(&b, "tables: %s\n", strings.Join(names, ", "))
	sqlite, err := q.SQLite(func(sqlparse.TableRef) error { return nil })
	if err != nil {
		return b.String() + "sqlite error: " + err.Error() + "\n"
	}
	b.WriteString("sqlite: " + sqlite + "\n")
	if again := q.String(); again != canonical {
		t.Errorf("SQLite() changed the query: %s", again)
	}
	return b.String()
}

// TestQueriesAreSharedSafely: the parser hands out one *Query per text
// (its cache), so every method must be read-only. Under -race, goroutines
// asking everything of the same query at once show a write if there is one;
// the same text at another offset is another query, with its own positions.
func TestQueriesAreSharedSafely(t *testing.T) {
	const text = `WITH w AS (SELECT id FROM mz_connections LIMIT 2, 3) SELECT CAST(w.id AS SIGNED) FROM w JOIN mz_catalog.mz_connections c ON c.id = w.id WHERE c.name LIKE $1 ORDER BY 1`
	first, err := sqlparse.ParseOne(text)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := first.(*sqlparse.Query).SQLite(func(sqlparse.TableRef) error { return nil })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				stmt, err := sqlparse.ParseOne(text)
				if err != nil {
					t.Error(err)
					return
				}
				q := stmt.(*sqlparse.Query)
				got, _ := q.SQLite(func(sqlparse.TableRef) error { return nil })
				if got != want || q.String() != first.String() || len(q.CTENames()) != 1 || sqlparse.Params(q) != 1 {
					t.Errorf("a shared query changed: %s", got)
					return
				}
			}
		})
	}
	wg.Wait()
	stmts, err := sqlparse.Parse("SELECT 1; " + text)
	if err != nil {
		t.Fatal(err)
	}
	if p := stmts[1].Pos(); p != len("SELECT 1; ") {
		t.Errorf("the same text later in a script starts at %d, want %d", p, len("SELECT 1; "))
	}
}

// TestQueryCacheIsBounded: however many long, distinct queries a tenant
// sends, the parsed-query cache holds at most a few MiB of trees.
func TestQueryCacheIsBounded(t *testing.T) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 2000 {
		var b strings.Builder
		fmt.Fprintf(&b, "SELECT %d", i)
		for b.Len() < 1000 {
			b.WriteString(", (1+2)*3")
		}
		b.WriteString(" FROM mz_connections")
		if _, err := sqlparse.Parse(b.String()); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// 64 KiB of text at ~180 bytes of tree a byte is ~12 MB; without the
	// bound 2,000 such queries held ~350 MB.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 40<<20 {
		t.Fatalf("the heap grew by %d MB", grown>>20)
	}
}
