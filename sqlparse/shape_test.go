package sqlparse_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/conncat/conncat/sqlparse"
)

func intColumn(name string) bool { return name == "assume_role_duration" }

// TestShape: the types a query's fields and parameters get from the tree,
// and the SQLite text that returns its columns and no row.
func TestShape(t *testing.T) {
	for _, c := range []struct {
		query, fields, params, sqlite string
	}{
		{`SELECT name, count(*), avg(length(name)) FROM mz_connections GROUP BY name`, "[ int8 float8] false", "[]", "LIMIT 0"},
		{`SELECT * FROM mz_connections WHERE name = $1 LIMIT $2`, "[] true", "[text int8]", "LIMIT 0*(?2)"},
		{`SELECT id, 1 + 2, 1.5, 'x', 1 = 1, upper(name) FROM mz_connections WHERE assume_role_duration > $1`, "[ int8 float8 text int8 text] false", "[int8]", "LIMIT 0"},
		{`SELECT name FROM mz_connections UNION SELECT name FROM mz_secrets ORDER BY 1 LIMIT 1, 2`, "[] false", "[]", "LIMIT 0*(2) OFFSET 1"},
		{`SELECT $1 + 1 AS x, CAST(name AS SIGNED), (SELECT count(*) FROM mz_secrets), CASE WHEN 1 THEN 'a' ELSE 'b' END`, "[int8 int8 int8 text] false", "[int8]", "LIMIT 0"},
	} {
		stmt, err := sqlparse.ParseOne(c.query)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		shape, err := stmt.(*sqlparse.Query).Shape(intColumn)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if got := fmt.Sprint(shape.Fields, " ", shape.Wildcard); got != c.fields {
			t.Errorf("%s: fields %q, want %q", c.query, got, c.fields)
		}
		if got := fmt.Sprint(shape.Params); got != c.params {
			t.Errorf("%s: params %s, want %s", c.query, got, c.params)
		}
		text, err := shape.Query.SQLite(func(sqlparse.TableRef) error { return nil })
		bare := strings.NewReplacer(" ", "", "(", "", ")", "").Replace
		if err != nil || !strings.HasSuffix(bare(text), bare(c.sqlite)) {
			t.Errorf("%s: SQLite text %q (%v), want it to end in %q", c.query, text, err, c.sqlite)
		}
		if shape.Query.Params() != stmt.(*sqlparse.Query).Params() {
			t.Errorf("%s: the shape takes %d values, the query %d", c.query, shape.Query.Params(), stmt.(*sqlparse.Query).Params())
		}
	}
}
