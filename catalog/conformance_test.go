package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// sameAnswerQueries are SELECTs over every shape the gate lets through
// (joins of each kind, subqueries, set operations, windows, row values,
// functions), and the ones that once differed: each must give the same
// columns and rows, or the same SQLSTATE, message and position, on every
// store. FuzzSameAnswer generates many more.
var sameAnswerQueries = []string{
	`SELECT * FROM (SELECT id FROM mz_connections) ORDER BY 1`,
	`SELECT name FROM mz_connections WHERE id IN (SELECT id FROM mz_aws_connections) ORDER BY name`,
	`SELECT name FROM mz_connections c NATURAL JOIN mz_aws_connections ORDER BY name`,
	`SELECT c.name FROM mz_connections c RIGHT JOIN mz_aws_connections a ON a.id = c.id ORDER BY 1`,
	`SELECT c.name, a.region FROM mz_connections c LEFT JOIN mz_aws_connections a USING (id) ORDER BY 1`,
	`SELECT c.name FROM mz_connections c, mz_aws_connections a WHERE a.id = c.id ORDER BY 1`,
	`SELECT count(*) AS n FROM mz_connections a CROSS JOIN mz_connections b, mz_secrets s`,
	`SELECT x.name FROM mz_connections x JOIN (mz_aws_connections y JOIN mz_connections z ON z.id = y.id) ON x.id = y.id ORDER BY 1`,
	`SELECT name FROM mz_connections x JOIN mz_connections y ON x.id = y.id`,
	`SELECT type, count(*) AS n FROM mz_connections GROUP BY type HAVING count(*) > 0 ORDER BY type`,
	`SELECT DISTINCT type FROM mz_connections ORDER BY type`,
	`SELECT name FROM mz_connections UNION SELECT name FROM mz_secrets ORDER BY 1`,
	`SELECT id FROM mz_connections INTERSECT SELECT id FROM mz_aws_connections ORDER BY 1`,
	`SELECT id FROM mz_connections EXCEPT SELECT id FROM mz_aws_connections ORDER BY 1`,
	`SELECT name, row_number() OVER (ORDER BY name) AS r, rank() OVER (PARTITION BY type ORDER BY name) AS k FROM mz_connections ORDER BY name`,
	`SELECT CASE WHEN type = 'aws' THEN 1 ELSE 0 END AS t FROM mz_connections ORDER BY name`,
	`SELECT name FROM mz_connections WHERE EXISTS (SELECT 1 FROM mz_aws_connections a WHERE a.id = mz_connections.id) ORDER BY name`,
	`SELECT name || '-' || type AS x, concat(name, type) AS y FROM mz_connections ORDER BY 1`,
	`SELECT coalesce(region, 'none') AS r, nullif(name, 'a') AS n FROM mz_aws_connections JOIN mz_connections USING (id) ORDER BY 1, 2`,
	`SELECT upper(name) AS u, lower(name) AS l, length(name) AS n, substr(name, 1, 1) AS s, replace(name, 'a', 'b') AS r FROM mz_connections ORDER BY 1`,
	`SELECT name FROM mz_connections ORDER BY name LIMIT 1 OFFSET 1`,
	`SELECT name FROM mz_connections ORDER BY name LIMIT 1, 1`,
	`SELECT 1 + 2 * 3 AS x, 7 / 2 AS d, 7 % 2 AS m, -3 - -3 AS z`,
	`SELECT name FROM mz_connections WHERE name BETWEEN 'a' AND 'b' AND NOT (name = 'b') ORDER BY 1`,
	`SELECT max(name) AS m, min(name) AS n, avg(length(name)) AS a, sum(length(name)) AS s, count(DISTINCT type) AS d FROM mz_connections`,
	`SELECT name FROM mz_connections c WHERE c.name = (SELECT max(name) FROM mz_connections)`,
	`SELECT 'a''b' AS q, 'x\y' AS b, TRUE AS t, FALSE AS f`,
	`SELECT a.region FROM mz_aws_connections a WHERE a.region IS NULL OR a.region IS NOT NULL ORDER BY 1`,
	`SELECT name FROM mz_connections WHERE name LIKE 'a%' OR name LIKE '\_%' ORDER BY 1`,
	`SELECT name FROM mz_connections WHERE (name, type) IN (('a', 'aws'), ('s', 's3')) ORDER BY 1`,
	`SELECT name FROM mz_connections WHERE (name, type) = ('a', 'aws') OR (id, type) IN (SELECT id, 's3' FROM mz_s3_connections)`,
	`SELECT name FROM mz_connections WHERE id = ANY (SELECT id FROM mz_aws_connections)`,
	`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT sum(i) AS s FROM n`,
	`WITH a AS (SELECT id FROM mz_aws_connections), b AS (SELECT id FROM a) SELECT count(*) AS n FROM b`,
	`SELECT round(2.5) AS r, abs(-3) AS a, trim(' x ') AS t`,
	`SELECT name FROM mz_connections ORDER BY (SELECT region FROM mz_aws_connections a WHERE a.id = mz_connections.id) DESC, name`,
	`SELECT CAST(12 AS CHAR) AS c, CAST('12' AS SIGNED) AS n, CAST(1 AS DOUBLE) AS d, CAST(name AS CHAR) AS m FROM mz_connections ORDER BY 4`,
	`SELECT CAST(name AS CHAR(1)) AS c FROM mz_connections`,
	`SELECT CONVERT(name, CHAR) AS c FROM mz_connections`,
	`(SELECT name FROM mz_connections) UNION (SELECT name FROM mz_secrets) ORDER BY 1`,
	`(SELECT name FROM mz_connections ORDER BY name LIMIT 1) UNION (SELECT name FROM mz_secrets)`,
	`SELECT name FROM mz_connections UNION (SELECT name FROM mz_secrets UNION SELECT 'z') ORDER BY 1`,
	`(SELECT name FROM mz_connections ORDER BY name LIMIT 1)`,
	`((SELECT name FROM mz_connections)) ORDER BY 1`,
	`SELECT * FROM (SELECT name FROM mz_connections ORDER BY name LIMIT 1) AS first UNION SELECT name FROM mz_secrets ORDER BY 1`,
	`SELECT name FROM mz_connections WHERE name IN (SELECT name FROM mz_connections ORDER BY name LIMIT 1)`,
	`SELECT trim(' x ') AS t, ltrim('xxa', 'x') AS l, rtrim('axx', 'x') AS r`,
	`SELECT trim(BOTH 'x' FROM 'xxaxx') AS t`,
	`SELECT X'41' AS h, 'A' AS a`,
	`SELECT name AS "Name", type AS Kind, id FROM mz_connections ORDER BY 1`,
	`SELECT name AS "Name" FROM mz_connections UNION SELECT name FROM mz_secrets ORDER BY 1`,
	`SELECT count(*) AS n FROM mz_connections a STRAIGHT_JOIN mz_connections b`,
	`SELECT x'41' AS h`,
	`SELECT 0b1 AS h`,
	`SELECT name FROM mz_connections WHERE id = SOME (SELECT id FROM mz_aws_connections)`,
	`SELECT trim(LEADING FROM ' x') AS t`,
	`SELECT CAST(name AS NCHAR) AS c FROM mz_connections ORDER BY 1`,
	`SELECT CAST(name AS CHAR CHARACTER SET utf8mb4) AS c FROM mz_connections ORDER BY 1`,
	`SELECT CAST(name AS JSON) AS c FROM mz_connections`,
	`SELECT CAST(1.7 AS SIGNED) AS i, CAST(-1 AS UNSIGNED) AS u`,
	`SELECT nam FROM mz_connections`,
	`SELECT * FROM mz_nothing`,
	// The expressions that answered differently when PostgreSQL ran its
	// own SELECTs (issue 29): SQLite's answer on both now.
	`SELECT 1 = '1' AS a, 10 > '9' AS b, 0.1 + 0.2 = 0.3 AS c, 7.5 % 2 AS d, substr('abc', -1) AS e`,
	`SELECT 2147483647 + 1 AS a, coalesce(1, 'a') AS b, CAST('12abc' AS SIGNED) AS c`,
	`SELECT name FROM mz_connections WHERE name > 5 ORDER BY 1`,
	`SELECT 1 <=> 1`,
	`SELECT 7 DIV 2`,
	`SELECT 1 XOR 1`,
	`SELECT * FROM mz_connections`,
	`SELECT a.* FROM mz_aws_connections a JOIN mz_connections c USING (id) LIMIT 2`,
	`SELECT name, row_number() OVER (ORDER BY type) AS r FROM mz_connections`,
}

// sameAnswerWithParams are queries with parameter values of every type a
// caller may pass: a number compared with text is compared as text on both
// stores (pgx refused to send one for a text parameter), bytes are text.
var sameAnswerWithParams = []struct {
	q    string
	args []any
}{
	{`SELECT name FROM mz_connections WHERE name = $1`, []any{"a"}},
	{`SELECT name FROM mz_connections WHERE name = $1`, []any{1}},
	{`SELECT name FROM mz_connections WHERE name = $1`, []any{[]byte("a")}},
	{`SELECT name FROM mz_connections WHERE name = $1`, []any{true}},
	{`SELECT name FROM mz_connections WHERE name = $1`, []any{nil}},
	{`SELECT id FROM mz_aws_connections WHERE assume_role_duration = $1`, []any{1800}},
	{`SELECT id FROM mz_aws_connections WHERE assume_role_duration = $1`, []any{"1800"}},
	{`SELECT id FROM mz_aws_connections WHERE assume_role_duration >= $1`, []any{uint8(3)}},
	{`SELECT $1 + 1 AS x`, []any{7}},
	{`SELECT name FROM mz_connections WHERE name IN ($1, $2) ORDER BY 1`, []any{"a", "b"}},
	{`SELECT name FROM mz_connections WHERE name LIKE $1 ORDER BY 1`, []any{"_%"}},
	{`SELECT name FROM mz_connections ORDER BY name LIMIT $1`, []any{2}},
}

// TestSameAnswerOnBothStores runs sameAnswerQueries on every store over
// the same catalog and compares the answers.
func TestSameAnswerOnBothStores(t *testing.T) {
	answers := map[string][]string{}
	for _, backend := range backends {
		c := newCatalogOn(t, backend, catalog.Options{Principal: "arn:aws:iam::000000000000:role/conncat"})
		ctx := context.Background()
		restore := countedUUIDs()
		defer restore()
		for _, s := range []string{
			`CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/A')`,
			`CREATE CONNECTION b TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/B', REGION = 'eu-west-1')`,
			`CREATE CONNECTION _c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/C', REGION = 'us-east-2', ASSUME ROLE DURATION = '30m')`,
			`CREATE CONNECTION s TO S3 (PREFIX = 's3://sameanswer/y/') USING AWS CONNECTION a`,
			`CREATE SECRET k AS 'fake-secret-conformance'`,
		} {
			stmt, err := sqlparse.ParseOne(s)
			if err == nil {
				_, err = c.Exec(ctx, stmt)
			}
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		for _, q := range sameAnswerQueries {
			answers[q] = append(answers[q], answer(ctx, c, q))
		}
		for i, p := range sameAnswerWithParams {
			key := fmt.Sprintf("#%d %s %#v", i, p.q, p.args)
			answers[key] = append(answers[key], answer(ctx, c, p.q, p.args...))
		}
	}
	for i, p := range sameAnswerWithParams {
		key := fmt.Sprintf("#%d %s %#v", i, p.q, p.args)
		if a := answers[key]; a[0] != a[1] {
			t.Errorf("%s\n  %s: %s\n  %s: %s", key, backends[0], a[0], backends[1], a[1])
		}
	}
	// The comparison means something only if most queries answer: a
	// harness where every query failed alike would pass it.
	answered := 0
	for _, a := range answers {
		if !strings.HasPrefix(a[0], "error") && !strings.HasPrefix(a[0], "untyped") {
			answered++
		}
	}
	if answered < len(answers)*2/3 {
		t.Fatalf("only %d of %d queries answered with rows", answered, len(answers))
	}
	for _, q := range sameAnswerQueries {
		for i := 1; i < len(answers[q]); i++ {
			if answers[q][i] != answers[q][0] {
				t.Errorf("%s\n  %s: %s\n  %s: %s", q, backends[0], answers[q][0], backends[i], answers[q][i])
			}
		}
	}
}

// answer is a query's columns and rows, or its error's SQLSTATE, message
// and caret position.
func answer(ctx context.Context, c *catalog.Executor, q string, args ...any) string {
	stmt, err := sqlparse.ParseOne(q)
	var res *catalog.Result
	if err == nil {
		res, err = c.Exec(ctx, stmt, args...)
	}
	var e *sqlerror.Error
	switch {
	case errors.As(err, &e):
		return fmt.Sprintf("error %s at %d: %s", e.Code, e.Position, e.Message)
	case err != nil:
		return "untyped error: " + err.Error()
	}
	return fmt.Sprintf("%v %#v", res.Columns, res.Rows)
}
