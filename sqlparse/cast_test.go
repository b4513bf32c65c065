package sqlparse_test

import (
	"strings"
	"testing"

	"github.com/conncat/conncat/sqlparse"
)

// TestCastTargets: a CAST's target is written for each store (CHAR is
// char(1) to PostgreSQL, SIGNED no type at all), the parsed query is left
// as it was (it restores the same way again), and targets that do not mean
// the same on both stores are refused.
func TestCastTargets(t *testing.T) {
	stmt, err := sqlparse.ParseOne(`SELECT CAST(a AS CHAR) AS x, CAST(b AS DOUBLE) AS y FROM t WHERE CAST(c AS SIGNED) > 1 ORDER BY CAST(d AS UNSIGNED)`)
	if err != nil {
		t.Fatal(err)
	}
	q := stmt.(*sqlparse.Query)
	name := func(r sqlparse.TableRef) (string, error) { return r.Name, nil }
	pg, err := q.PostgreSQL(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`CAST("a" AS TEXT)`, `CAST("b" AS DOUBLE PRECISION)`, `CAST(TRUNC(CAST("c" AS NUMERIC)) AS BIGINT)`, `CAST(TRUNC(CAST("d" AS NUMERIC)) AS BIGINT)`} {
		if !strings.Contains(pg, want) {
			t.Errorf("PostgreSQL text %s lacks %s", pg, want)
		}
	}
	lite, err := q.SQLite(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CAST(`a` AS TEXT)", "CAST(`b` AS REAL)", "CAST(`c` AS INTEGER)"} {
		if !strings.Contains(lite, want) {
			t.Errorf("SQLite text %s lacks %s", lite, want)
		}
	}
	if again, _ := q.PostgreSQL(name, nil); again != pg {
		t.Errorf("a second restore differs:\n%s\n%s", pg, again)
	}
	if s := q.String(); !strings.Contains(s, `CAST("a" AS CHAR)`) {
		t.Errorf("the query changed: %s", s)
	}
	for _, refused := range []string{
		`SELECT CAST(a AS CHAR(3)) FROM t`, `SELECT CAST(a AS BINARY) FROM t`, `SELECT CAST(a AS DATE) FROM t`,
		`SELECT CAST(a AS DECIMAL(10, 2)) FROM t`, `SELECT CONVERT(a, CHAR) FROM t`, `SELECT BINARY a FROM t`,
	} {
		var e *sqlparse.Error
		if _, err := sqlparse.ParseOne(refused); err == nil || !asError(err, &e) || e.Code != "0A000" || e.Hint == "" {
			t.Errorf("%s: %v", refused, err)
		}
	}
}
