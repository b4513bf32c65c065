package sqlparse_test

import (
	"strings"
	"testing"

	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// TestCastTargets: a CAST's target is written as SQLite's type (SIGNED is
// no type to it, and would read as NUMERIC, keeping fractions), the parsed
// query is left as it was (it restores the same way again), and targets
// without one clear meaning are refused.
func TestCastTargets(t *testing.T) {
	stmt, err := sqlparse.ParseOne(`SELECT CAST(a AS CHAR) AS x, CAST(b AS DOUBLE) AS y FROM t WHERE CAST(c AS SIGNED) > 1 ORDER BY CAST(d AS UNSIGNED)`)
	if err != nil {
		t.Fatal(err)
	}
	q := stmt.(*sqlparse.Query)
	name := func(sqlparse.TableRef) error { return nil }
	lite, err := q.SQLite(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CAST(`a` AS TEXT)", "CAST(`b` AS REAL)", "CAST(`c` AS INTEGER)", "CAST(`d` AS INTEGER)"} {
		if !strings.Contains(lite, want) {
			t.Errorf("SQLite text %s lacks %s", lite, want)
		}
	}
	if again, _ := q.SQLite(name); again != lite {
		t.Errorf("a second restore differs:\n%s\n%s", lite, again)
	}
	if s := q.String(); !strings.Contains(s, `CAST("a" AS CHAR)`) {
		t.Errorf("the query changed: %s", s)
	}
	for _, refused := range []string{
		`SELECT CAST(a AS CHAR(3)) FROM t`, `SELECT CAST(a AS BINARY) FROM t`, `SELECT CAST(a AS DATE) FROM t`,
		`SELECT CAST(a AS DECIMAL(10, 2)) FROM t`, `SELECT CONVERT(a, CHAR) FROM t`, `SELECT BINARY a FROM t`,
	} {
		var e *sqlerror.Error
		if _, err := sqlparse.ParseOne(refused); err == nil || !asError(err, &e) || e.Code != "0A000" || e.Hint == "" {
			t.Errorf("%s: %v", refused, err)
		}
	}
}
