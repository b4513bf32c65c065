package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

const blockPrincipal = "arn:aws:iam::000000000000:role/conncat"

// inBlock runs one statement in b and returns its result and SQLSTATE.
func inBlock(t *testing.T, b *catalog.Block, text string) (*catalog.Result, string) {
	t.Helper()
	stmt, err := sqlparse.ParseOne(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	var res *catalog.Result
	if tx, ok := stmt.(*sqlparse.Transaction); ok {
		switch tx.Kind {
		case sqlparse.TxSavepoint:
			err = b.Savepoint(tx)
		case sqlparse.TxRelease:
			err = b.Release(tx)
		case sqlparse.TxRollbackTo:
			err = b.RollbackTo(tx)
		default:
			t.Fatalf("inBlock: %s", text)
		}
	} else {
		res, err = b.Exec(context.Background(), stmt)
	}
	return res, codeOf(t, err)
}

// codeOf is err's SQLSTATE, "" for nil; an error without one fails t.
func codeOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *sqlerror.Error
	if !errors.As(err, &e) {
		t.Fatalf("error without a SQLSTATE: %v", err)
	}
	return e.Code
}

// visible lists the connections and secrets a fresh statement sees.
func visible(t *testing.T, c *catalog.Executor) string {
	t.Helper()
	var out []string
	for _, r := range mustExec(t, c, "SHOW CONNECTIONS; SHOW SECRETS") {
		for _, row := range r.Rows {
			out = append(out, fmt.Sprint(row[0]))
		}
	}
	return strings.Join(out, " ")
}

// TestBlockCommitsWhole: a block's DDL is invisible to others until
// COMMIT, then all of it is there, with the external ID SHOW TRUST POLICY
// showed inside the block.
func TestBlockCommitsWhole(t *testing.T) { forEachBackend(t, testBlockCommitsWhole) }

func testBlockCommitsWhole(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal})
	ctx := context.Background()
	b := c.Begin(false)
	for _, s := range []string{
		`CREATE SECRET k AS 'fake-block-secret'`,
		`CREATE CONNECTION a TO AWS (ACCESS KEY ID = 'AKIAFAKEBLOCK', SECRET ACCESS KEY = SECRET k)`,
		`CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R')`,
		`CREATE CONNECTION s TO S3 (PREFIX = 's3://blockbucket/p/') USING AWS CONNECTION r`,
	} {
		if _, code := inBlock(t, b, s); code != "" {
			t.Fatalf("%s: %s", s, code)
		}
	}
	inside, code := inBlock(t, b, `SHOW TRUST POLICY FOR CONNECTION s`)
	if code != "" {
		t.Fatalf("SHOW inside the block: %s", code)
	}
	d, err := b.Describe(ctx, "r")
	if err != nil || d.ExternalID != inside.Rows[0][1] {
		t.Fatalf("Describe inside the block: %+v, %v; SHOW said %v", d, err, inside.Rows[0][1])
	}
	if got := visible(t, c); got != "" {
		t.Fatalf("others see the block's DDL before COMMIT: %q", got)
	}
	res, err := b.Commit(ctx)
	if err != nil || res.Tag != "COMMIT" {
		t.Fatalf("COMMIT: %+v, %v", res, err)
	}
	if got := visible(t, c); got != "a r s k" {
		t.Fatalf("after COMMIT: %q", got)
	}
	after := mustExec(t, c, `SHOW TRUST POLICY FOR CONNECTION s`)[0]
	if fmt.Sprint(after.Rows) != fmt.Sprint(inside.Rows) {
		t.Fatalf("the block showed %v, the catalog holds %v", inside.Rows, after.Rows)
	}
	if _, err := c.Resolve(ctx, "a"); err != nil {
		t.Fatalf("the secret committed with the block does not open: %v", err)
	}
}

// TestBlockFailsAndRollsBack: an error fails the block (25P02 after it),
// COMMIT of a failed block rolls back, and ROLLBACK leaves nothing.
func TestBlockFailsAndRollsBack(t *testing.T) { forEachBackend(t, testBlockFailsAndRollsBack) }

func testBlockFailsAndRollsBack(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal})
	ctx := context.Background()
	b := c.Begin(false)
	inBlock(t, b, `CREATE SECRET k AS 'fake-block-secret'`)
	if _, code := inBlock(t, b, `CREATE SECRET k AS 'fake-again'`); code != sqlstate.DuplicateObject {
		t.Fatalf("duplicate in the block: %q", code)
	}
	for _, s := range []string{`SHOW SECRETS`, `SELECT 1`, `CREATE SECRET other AS 'x'`, `SAVEPOINT sp`} {
		if _, code := inBlock(t, b, s); code != sqlstate.InFailedTransaction {
			t.Fatalf("%s in a failed block: %q, want 25P02", s, code)
		}
	}
	if res, err := b.Commit(ctx); err != nil || res.Tag != "ROLLBACK" {
		t.Fatalf("COMMIT of a failed block: %+v, %v", res, err)
	}
	b = c.Begin(false)
	inBlock(t, b, `CREATE SECRET gone AS 'fake-block-secret'`)
	b.Rollback()
	if got := visible(t, c); got != "" {
		t.Fatalf("after a failed COMMIT and a ROLLBACK: %q", got)
	}
}

// TestBlockSavepoints: ROLLBACK TO undoes what came after the savepoint
// and ends the failed state; RELEASE forgets it.
func TestBlockSavepoints(t *testing.T) { forEachBackend(t, testBlockSavepoints) }

func testBlockSavepoints(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal})
	b := c.Begin(false)
	steps := []struct{ stmt, code string }{
		{`CREATE SECRET a AS 'fake-a'`, ""},
		{`SAVEPOINT sp`, ""},
		{`CREATE SECRET b AS 'fake-b'`, ""},
		{`DROP SECRET nothing`, sqlstate.UndefinedObject},
		{`ROLLBACK TO SAVEPOINT sp`, ""},
		{`SHOW SECRETS`, ""},
		{`CREATE SECRET c AS 'fake-c'`, ""},
		{`SAVEPOINT inner`, ""},
		{`RELEASE SAVEPOINT inner`, ""},
		{`ROLLBACK TO inner`, sqlstate.InvalidSavepoint},
		{`ROLLBACK TO sp`, ""},
		{`CREATE SECRET d AS 'fake-d'`, ""},
	}
	for _, s := range steps {
		res, code := inBlock(t, b, s.stmt)
		if code != s.code {
			t.Fatalf("%s: %q, want %q", s.stmt, code, s.code)
		}
		if s.stmt == `SHOW SECRETS` && fmt.Sprint(res.Rows) != "[[a]]" {
			t.Fatalf("after ROLLBACK TO: %v", res.Rows)
		}
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, c); got != "a d" {
		t.Fatalf("committed %q, want a d", got)
	}
}

// TestBlockHoldsNoLock: while a block with DDL is open, another handle's
// DDL commits at once; if that makes the block's DDL invalid, COMMIT fails
// with 40001 and applies none of the block.
func TestBlockHoldsNoLock(t *testing.T) { forEachBackend(t, testBlockHoldsNoLock) }

func testBlockHoldsNoLock(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal})
	ctx := context.Background()
	b := c.Begin(false)
	inBlock(t, b, `CREATE SECRET mine AS 'fake-mine'`)
	inBlock(t, b, `CREATE SECRET k AS 'fake-block'`)
	// Were the block holding the write lock, this would wait for it
	// until its busy timeout or statement budget.
	mustExec(t, c, `CREATE SECRET k AS 'fake-other-session'`)
	if _, code := inBlock(t, b, `SHOW SECRETS`); code != sqlstate.SerializationFailure {
		t.Fatalf("a statement after the conflict: %q, want 40001", code)
	}
	if res, err := b.Commit(ctx); err != nil || res.Tag != "ROLLBACK" {
		t.Fatalf("COMMIT after the conflict: %+v, %v", res, err)
	}

	b = c.Begin(false)
	inBlock(t, b, `CREATE SECRET late AS 'fake-late'`)
	mustExec(t, c, `CREATE SECRET late AS 'fake-other-session'`)
	_, err := b.Commit(ctx)
	var e *sqlerror.Error
	if !errors.As(err, &e) || e.Code != sqlstate.SerializationFailure || !strings.Contains(e.Detail, "late") {
		t.Fatalf("COMMIT over a conflicting commit: %v", err)
	}
	if got := visible(t, c); got != "k late" {
		t.Fatalf("after the refused COMMIT: %q", got)
	}
}

// TestBlockRefusals: what a block refuses, with the SQLSTATE PostgreSQL
// gives each.
func TestBlockRefusals(t *testing.T) { forEachBackend(t, testBlockRefusals) }

func testBlockRefusals(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal})
	ro := c.Begin(true)
	if _, code := inBlock(t, ro, `SELECT count(*) FROM mz_secrets`); code != "" {
		t.Fatalf("SELECT in a read-only block: %q", code)
	}
	if _, code := inBlock(t, ro, `CREATE SECRET k AS 'fake'`); code != sqlstate.ReadOnlyTransaction {
		t.Fatalf("DDL in a read-only block: %q", code)
	}
	b := c.Begin(false)
	if _, code := inBlock(t, b, `SELECT count(*) FROM mz_secrets`); code != "" {
		t.Fatalf("SELECT before DDL: %q", code)
	}
	b = c.Begin(false)
	if _, code := inBlock(t, b, `CREATE CONNECTION v TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/V') WITH (VALIDATE)`); code != sqlstate.ActiveTransaction {
		t.Fatalf("WITH (VALIDATE) in a block: %q", code)
	}
}

// TestBlockBounded: a block takes at most MaxBlockStatements statements.
func TestBlockBounded(t *testing.T) {
	c, _ := newCatalog(t, catalog.Options{})
	b := c.Begin(false)
	for i := range catalog.MaxBlockStatements {
		if _, code := inBlock(t, b, fmt.Sprintf(`CREATE SECRET s%d AS 'fake'`, i)); code != "" {
			t.Fatalf("statement %d: %s", i, code)
		}
	}
	if _, code := inBlock(t, b, `CREATE SECRET one_more AS 'fake'`); code != sqlstate.ProgramLimitExceeded {
		t.Fatalf("statement over the bound: %q", code)
	}
}

// TestBlockSelectSeesItsDDL: a SELECT inside a block answers as it would
// after COMMIT (created, altered and dropped rows, IDs and external IDs),
// the same on every store, while a SELECT outside sees none of it.
func TestBlockSelectSeesItsDDL(t *testing.T) {
	const query = `SELECT c.id, c.name, a.region, a.external_id, (SELECT count(*) FROM mz_object_dependencies) AS deps
		FROM mz_connections c LEFT JOIN mz_aws_connections a USING (id) ORDER BY c.name`
	answers := map[string][]string{}
	for _, backend := range backends {
		c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal})
		restore := countedUUIDs()
		mustExec(t, c, `CREATE CONNECTION kept TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/K');
			CREATE CONNECTION dropped TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/D')`)
		outsideBefore := answer(context.Background(), c, query)
		b := c.Begin(false)
		for _, s := range []string{
			`ALTER CONNECTION kept SET (REGION = 'eu-west-1')`,
			`DROP CONNECTION dropped`,
			`CREATE CONNECTION added TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/A')`,
			`CREATE CONNECTION lake TO S3 (PREFIX = 's3://blockbucket/p/') USING AWS CONNECTION added`,
		} {
			if _, code := inBlock(t, b, s); code != "" {
				t.Fatalf("%s: %s", s, code)
			}
		}
		stmt, _ := sqlparse.ParseOne(query)
		res, err := b.Exec(context.Background(), stmt)
		if err != nil {
			t.Fatalf("%s: SELECT in the block: %v", backend, err)
		}
		inside := fmt.Sprintf("%v %#v", res.Columns, res.Rows)
		// The block's audit events too: two before it, four in it.
		events, _ := sqlparse.ParseOne(`SELECT count(*) FROM mz_audit_events`)
		if res, err := b.Exec(context.Background(), events); err != nil || fmt.Sprint(res.Rows) != "[[6]]" {
			t.Fatalf("%s: audit events in the block: %v %v, want [[6]]", backend, res, err)
		}
		if got := answer(context.Background(), c, query); got != outsideBefore {
			t.Fatalf("%s: a SELECT outside the block saw it:\n%s\nwant\n%s", backend, got, outsideBefore)
		}
		if _, err := b.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		if after := answer(context.Background(), c, query); after != inside {
			t.Fatalf("%s: inside the block\n%s\nafter COMMIT\n%s", backend, inside, after)
		}
		answers[inside] = append(answers[inside], backend)
		restore()
	}
	if len(answers) != 1 {
		t.Fatalf("the stores answered differently: %v", answers)
	}
	for a := range answers {
		if !strings.Contains(a, "eu-west-1") || strings.Contains(a, `"dropped"`) || !strings.Contains(a, `"lake"`) {
			t.Fatalf("the block's SELECT missed its DDL: %s", a)
		}
	}
}

// TestBlockQueryBounded: a SELECT after a block's DDL holds the catalog's
// write lock, so it stops at MaxBlockQueryTime (this one would never end),
// and the lock is free again at once.
func TestBlockQueryBounded(t *testing.T) { forEachBackend(t, testBlockQueryBounded) }

func testBlockQueryBounded(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{})
	b := c.Begin(false)
	inBlock(t, b, `CREATE SECRET k AS 'fake'`)
	_, code := inBlock(t, b, `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r`)
	if code != sqlstate.QueryCanceled {
		t.Fatalf("an endless SELECT in a block: %q, want 57014", code)
	}
	mustExec(t, c, `CREATE SECRET other AS 'fake'`)
}
