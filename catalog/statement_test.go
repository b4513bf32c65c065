package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// TestDescribeStatementWithoutRunning: what a statement takes and returns,
// the same on every store, for a query that would fail if it ran (it
// returns more than MaxQueryRows) as for any other.
func TestDescribeStatementWithoutRunning(t *testing.T) {
	cases := []struct{ stmt, want string }{
		{`SELECT c.name, a.assume_role_duration, a.example_trust_policy, count(*) OVER () AS n FROM mz_connections c JOIN mz_aws_connections a USING (id) WHERE c.name = $1 AND a.assume_role_duration > $2`,
			"params [text int8] columns [{name text} {assume_role_duration int8} {example_trust_policy json} {n int8}]"},
		{`WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT i, i * 1.5 AS f FROM r LIMIT $1`,
			"params [int8] columns [{i text} {f text}]"},
		{`SELECT * FROM mz_internal.mz_aws_connection_statuses`,
			"params [] columns [{id text} {status text} {last_status_change_at text} {credentials_expire_at text} {last_refresh_at text} {last_error text} {sts_calls int8} {packed_policy_size int8} {role text}]"},
		{`SHOW TRUST POLICY FOR CONNECTION nothing`, "params [] columns [{principal text} {external_id text} {trust_policy json}]"},
		{`VALIDATE CONNECTION nothing`, "params [] columns [{check text} {status text} {message text} {hint text} {duration_ms int8}]"},
		{`DROP SECRET nothing`, "params [] columns []"},
		{`SELECT nam FROM mz_connections`, "error 42703 at 7"},
	}
	answers := map[string][]string{}
	for _, backend := range backends {
		c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal})
		for _, cs := range cases {
			stmt, err := sqlparse.ParseOne(cs.stmt)
			if err != nil {
				t.Fatal(err)
			}
			got := describeText(t, c, stmt)
			if got != cs.want {
				t.Errorf("%s: %s\n  %s\n  want %s", backend, cs.stmt, got, cs.want)
			}
			answers[cs.stmt] = append(answers[cs.stmt], got)
		}
	}
	// The recursive query does fail when it runs: Describe did not run it.
	c := newCatalogOn(t, "sqlite", catalog.Options{})
	stmt, _ := sqlparse.ParseOne(cases[1].stmt)
	if _, err := c.Exec(context.Background(), stmt, catalog.MaxQueryRows+1); codeOf(t, err) != sqlstate.ProgramLimitExceeded {
		t.Fatalf("the recursive query ran: %v", err)
	}
}

func describeText(t *testing.T, c *catalog.Executor, stmt sqlparse.Statement) string {
	t.Helper()
	d, err := c.DescribeStatement(context.Background(), stmt)
	if err != nil {
		var e *sqlerror.Error
		if code := codeOf(t, err); code != "" {
			e = err.(*sqlerror.Error)
			return fmt.Sprintf("error %s at %d", code, e.Position)
		}
	}
	return fmt.Sprintf("params %v columns %v", d.Params, d.Columns)
}
