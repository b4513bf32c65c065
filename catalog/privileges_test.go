package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// as runs one statement as role and returns its result and SQLSTATE.
func as(t *testing.T, c *catalog.Executor, role, text string) (*catalog.Result, string) {
	t.Helper()
	stmt, err := sqlparse.ParseOne(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	res, err := c.Exec(catalog.WithRole(context.Background(), role), stmt)
	return res, codeOf(t, err)
}

// everything is every stored row of the catalog but the audit trail, for
// proving a refused statement changed nothing.
func everything(t *testing.T, c *catalog.Executor) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"mz_connections", "mz_aws_connections", "mz_s3_connections", "mz_secrets", "mz_object_dependencies"} {
		res := mustExec(t, c, "SELECT * FROM "+table+" ORDER BY 1")
		fmt.Fprintln(&b, table, res[0].Rows)
	}
	return b.String()
}

const roleARN = "arn:aws:iam::001234567890:role/A"

// TestPrivileges: on every store, a role reaches only what it owns or was
// granted; every refusal is 42501 and changes nothing; GRANT, REVOKE and
// ALTER ... OWNER TO move the line; a superuser (or a call without a role)
// passes everywhere; mz_audit_events holds each change once, in order.
func TestPrivileges(t *testing.T) { forEachBackend(t, testPrivileges) }

func testPrivileges(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal, Superusers: []string{"admin"}})
	for _, s := range []string{
		`CREATE SECRET ka AS 'fake-alice-secret'`,
		`CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = '` + roleARN + `')`,
		`CREATE CONNECTION ak TO AWS (ACCESS KEY ID = 'AKIAFAKEALICE', SECRET ACCESS KEY = SECRET ka)`,
	} {
		if _, code := as(t, c, "alice", s); code != "" {
			t.Fatalf("alice: %s: %s", s, code)
		}
	}
	as(t, c, "bob", `CREATE CONNECTION b TO AWS (ASSUME ROLE ARN = '`+roleARN+`')`)
	before := everything(t, c)
	refused := []string{
		`ALTER CONNECTION a SET (REGION = 'eu-west-1')`,
		`ALTER CONNECTION a RENAME TO mine`,
		`ALTER SECRET ka AS 'fake-stolen'`,
		`ALTER SECRET ka RENAME TO mine`,
		`DROP CONNECTION a`,
		`DROP SECRET ka CASCADE`,
		`SHOW CREATE CONNECTION a`,
		`SHOW TRUST POLICY FOR CONNECTION a`,
		`CREATE CONNECTION s TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION a`,
		`CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEBOB', SECRET ACCESS KEY = SECRET ka)`,
		`ALTER CONNECTION b SET (SECRET ACCESS KEY = SECRET ka)`,
		`GRANT USAGE ON CONNECTION a TO bob`,
		`REVOKE USAGE ON SECRET ka FROM alice`,
		`ALTER CONNECTION a OWNER TO bob`,
		`ALTER SECRET ka OWNER TO bob`,
	}
	for _, s := range refused {
		if _, code := as(t, c, "bob", s); code != sqlstate.InsufficientPrivilege {
			t.Errorf("bob: %s: %q, want 42501", s, code)
		}
	}
	if after := everything(t, c); after != before {
		t.Fatalf("refused statements changed the catalog:\n%s\n%s", before, after)
	}
	ctx := catalog.WithRole(context.Background(), "bob")
	for _, call := range []func() error{
		func() error { _, err := c.Resolve(ctx, "a"); return err },
		func() error { _, err := c.Describe(ctx, "a"); return err },
	} {
		var e *sqlerror.Error
		if err := call(); !errors.As(err, &e) || e.Code != sqlstate.InsufficientPrivilege {
			t.Errorf("bob reads alice's connection: %v", err)
		}
	}
	if res, _ := as(t, c, "bob", `SHOW CONNECTIONS`); fmt.Sprint(res.Rows) != "[[b aws]]" {
		t.Errorf("bob's SHOW CONNECTIONS: %v", res.Rows)
	}

	// GRANT lets bob use, never change.
	as(t, c, "alice", `GRANT USAGE ON CONNECTION a TO bob`)
	as(t, c, "alice", `GRANT USAGE ON ALL SECRETS TO bob`)
	for _, s := range []string{`SHOW CREATE CONNECTION a`, `CREATE CONNECTION s TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION a`,
		`CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEBOB', SECRET ACCESS KEY = SECRET ka)`} {
		if _, code := as(t, c, "bob", s); code != "" {
			t.Errorf("bob after GRANT: %s: %s", s, code)
		}
	}
	if _, err := c.Resolve(ctx, "a"); err != nil {
		t.Errorf("bob resolves a granted connection: %v", err)
	}
	if _, code := as(t, c, "bob", `ALTER CONNECTION a SET (REGION = 'eu-west-1')`); code != sqlstate.InsufficientPrivilege {
		t.Errorf("bob alters a granted connection: %q", code)
	}
	// CASCADE needs ownership of what it drops: bob's s depends on a.
	if _, code := as(t, c, "alice", `DROP CONNECTION a CASCADE`); code != sqlstate.InsufficientPrivilege {
		t.Errorf("alice drops bob's dependent connection: %q", code)
	}
	as(t, c, "alice", `REVOKE USAGE ON CONNECTION a FROM bob`)
	if _, code := as(t, c, "bob", `SHOW CREATE CONNECTION a`); code != sqlstate.InsufficientPrivilege {
		t.Errorf("bob after REVOKE: %q", code)
	}
	res, _ := as(t, c, "admin", `SELECT name, owner_id, privileges FROM mz_connections ORDER BY name`)
	want := `[[a alice {alice=U/alice}] [ak alice {alice=U/alice}] [b bob {bob=U/bob}] [k bob {bob=U/bob}] [s bob {bob=U/bob}]]`
	if fmt.Sprint(res.Rows) != want {
		t.Errorf("owners and privileges:\n%v\nwant\n%v", res.Rows, want)
	}
	// A superuser gives a to bob, who may then drop it with its dependents.
	if _, code := as(t, c, "admin", `ALTER CONNECTION a OWNER TO bob`); code != "" {
		t.Fatalf("superuser's OWNER TO: %s", code)
	}
	if _, code := as(t, c, "bob", `DROP CONNECTION a CASCADE`); code != "" {
		t.Fatalf("the new owner drops: %s", code)
	}
	events, _ := as(t, c, "admin", `SELECT id, event_type, object_type, json_extract(details, '$.name') AS name, "user" FROM mz_audit_events ORDER BY id`)
	var got []string
	for _, r := range events.Rows {
		got = append(got, fmt.Sprintf("%v %v %v %v %v", r...))
	}
	wantEvents := []string{
		"1 create secret ka alice", "2 create connection a alice", "3 create connection ak alice", "4 create connection b bob",
		"5 grant connection a alice", "6 grant secret ka alice", "7 create connection s bob", "8 create connection k bob",
		"9 revoke connection a alice", "10 alter connection a admin", "11 drop connection s bob", "12 drop connection a bob",
	}
	if strings.Join(got, "\n") != strings.Join(wantEvents, "\n") {
		t.Errorf("audit trail:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantEvents, "\n"))
	}
}

// TestUseEventsRetention: RecordUse writes use events; a retention
// removes use events older than it and never the history of changes.
func TestUseEventsRetention(t *testing.T) { forEachBackend(t, testUseEventsRetention) }

func testUseEventsRetention(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{Now: fixedClock})
	mustExec(t, c, `CREATE SECRET k AS 'fake'`)
	ctx := context.Background()
	old := catalog.UseEvent{Type: "assume_role", At: fixedClock().Add(-2 * time.Hour), Details: map[string]string{"id": "u9"}}
	recent := catalog.UseEvent{Type: "assume_role", At: fixedClock(), Details: map[string]string{"id": "u9"}}
	if err := c.RecordUse(ctx, []catalog.UseEvent{old}, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.RecordUse(ctx, []catalog.UseEvent{recent}, time.Hour); err != nil {
		t.Fatal(err)
	}
	res := mustExec(t, c, `SELECT event_type, occurred_at FROM mz_audit_events ORDER BY id`)
	want := fmt.Sprintf("[[create %s] [assume_role %s]]", fixedClock().UTC().Format(time.RFC3339Nano), fixedClock().UTC().Format(time.RFC3339Nano))
	if fmt.Sprint(res[0].Rows) != want {
		t.Fatalf("after a retention of an hour: %v, want %s", res[0].Rows, want)
	}
}

// TestSelectShowsWhatTheRoleMayUse: a role's SELECT sees only the
// connections and secrets it may use and what belongs to them (options,
// dependencies, validations, audit events), the same on every store, and
// a superuser sees everything.
func TestSelectShowsWhatTheRoleMayUse(t *testing.T) {
	const query = `SELECT (SELECT count(*) FROM mz_connections) AS c, (SELECT count(*) FROM mz_aws_connections) AS a,
		(SELECT count(*) FROM mz_s3_connections) AS s, (SELECT count(*) FROM mz_secrets) AS k,
		(SELECT count(*) FROM mz_object_dependencies) AS d, (SELECT count(*) FROM mz_catalog.mz_audit_events) AS e,
		(SELECT group_name FROM (SELECT name AS group_name FROM mz_internal.mz_connections ORDER BY name LIMIT 1)) AS first`
	answers := map[string][]string{}
	for _, backend := range backends {
		c := newCatalogOn(t, backend, catalog.Options{Principal: blockPrincipal, Superusers: []string{"admin"}})
		for _, s := range []string{
			`CREATE SECRET ka AS 'fake-alice'`,
			`CREATE CONNECTION a TO AWS (ACCESS KEY ID = 'AKIAFAKEALICE', SECRET ACCESS KEY = SECRET ka)`,
			`CREATE CONNECTION as3 TO S3 (PREFIX = 's3://bucket/a/') USING AWS CONNECTION a`,
		} {
			as(t, c, "alice", s)
		}
		as(t, c, "bob", `CREATE CONNECTION b TO AWS (ASSUME ROLE ARN = '`+roleARN+`')`)
		for _, role := range []string{"bob", "alice", "admin"} {
			res, code := as(t, c, role, query)
			if code != "" {
				t.Fatalf("%s: %s: %s", backend, role, code)
			}
			answers[role] = append(answers[role], fmt.Sprint(res.Rows))
		}
		as(t, c, "alice", `GRANT USAGE ON CONNECTION as3 TO bob`)
		res, _ := as(t, c, "bob", query)
		answers["bob granted"] = append(answers["bob granted"], fmt.Sprint(res.Rows))
	}
	want := map[string]string{
		"bob":         "[[1 1 0 0 0 1 b]]",
		"alice":       "[[2 1 1 1 2 3 a]]",
		"admin":       "[[3 2 1 1 2 4 a]]",
		"bob granted": "[[2 1 1 0 1 3 as3]]",
	}
	for role, w := range want {
		for i, got := range answers[role] {
			if got != w {
				t.Errorf("%s on %s: %s, want %s", role, backends[i], got, w)
			}
		}
	}
}

// TestRoleNamesThatNeedQuoting: a role named with quotes, commas, '=' and
// '/' is granted, shown in the privileges list as PostgreSQL quotes it,
// and recognised by both the checks and the SELECT filter — never
// mistaken for another role whose name it contains.
func TestRoleNamesThatNeedQuoting(t *testing.T) {
	c, _ := newCatalog(t, catalog.Options{})
	odd := `O'Brien "x",=U/y`
	as(t, c, "alice", `CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = '`+roleARN+`')`)
	as(t, c, "alice", `GRANT USAGE ON CONNECTION a TO `+sqlparse.QuoteIdent(odd))
	if _, code := as(t, c, odd, `SHOW CREATE CONNECTION a`); code != "" {
		t.Fatalf("the granted role: %s", code)
	}
	for _, other := range []string{"y", `O'Brien "x"`, "x"} {
		if _, code := as(t, c, other, `SHOW CREATE CONNECTION a`); code != sqlstate.InsufficientPrivilege {
			t.Errorf("role %q, a part of the granted name: %q", other, code)
		}
		if res, _ := as(t, c, other, `SELECT count(*) FROM mz_connections`); fmt.Sprint(res.Rows) != "[[0]]" {
			t.Errorf("role %q sees %v", other, res.Rows)
		}
	}
	res, _ := as(t, c, odd, `SELECT privileges FROM mz_connections`)
	if got := fmt.Sprint(res.Rows); got != `[[{alice=U/alice,"O'Brien ""x"",=U/y"=U/alice}]]` {
		t.Errorf("privileges %s", got)
	}
}

// TestOwnerOfAnUnownedObject: a superuser's GRANT to PUBLIC on an object
// made before roles (no owner) survives giving the object an owner, and a
// role with an empty name may not create (it could own nothing).
func TestOwnerOfAnUnownedObject(t *testing.T) {
	c, _ := newCatalog(t, catalog.Options{})
	mustExec(t, c, `CREATE CONNECTION old TO AWS (ASSUME ROLE ARN = '`+roleARN+`'); GRANT USAGE ON CONNECTION old TO PUBLIC`)
	mustExec(t, c, `ALTER CONNECTION old OWNER TO alice`)
	res := mustExec(t, c, `SELECT owner_id, privileges FROM mz_connections`)
	if got := fmt.Sprint(res[0].Rows); got != "[[alice {alice=U/alice,=U/alice}]]" {
		t.Fatalf("after OWNER TO: %s", got)
	}
	if _, code := as(t, c, "bob", `SHOW CREATE CONNECTION old`); code != "" {
		t.Fatalf("PUBLIC's grant was lost: %s", code)
	}
	if _, code := as(t, c, "", `CREATE SECRET k AS 'fake'`); code != sqlstate.InvalidName {
		t.Fatalf("an empty role creates: %q", code)
	}
}
