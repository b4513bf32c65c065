package catalog_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/postgres"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/sqlparse"
)

// twoNodes opens two catalogs on one PostgreSQL schema, without change
// feeds (catalog.Open starts none): what node b sees comes only from its
// own catch-up before each read. raw is a plain handle.
func twoNodes(t *testing.T) (a, b *catalog.Executor, raw *sql.DB, schema string) {
	cluster := testenv.Postgres(t)
	schema = cluster.Schema()
	raw, err := sql.Open("pgx", cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	open := func() *catalog.Executor {
		st, err := postgres.New(raw, schema)
		if err != nil {
			t.Fatal(err)
		}
		c, err := catalog.Open(context.Background(), st, catalog.Options{Keys: testKey, Now: fixedClock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return open(), open(), raw, schema
}

func names(t *testing.T, c *catalog.Executor) string {
	t.Helper()
	res := mustExec(t, c, `SELECT name FROM mz_connections ORDER BY name`)
	return fmt.Sprint(res[0].Rows)
}

// TestReplicaCatchesUpPastAPrunedLog: a replica whose change is no longer
// in the log (pruned while it was behind) loads everything again instead
// of applying only what the log still holds.
func TestReplicaCatchesUpPastAPrunedLog(t *testing.T) {
	a, b, raw, schema := twoNodes(t)
	mustExec(t, a, `CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/X')`)
	mustExec(t, a, `CREATE CONNECTION y TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/Y')`)
	if got := names(t, b); got != "[[x] [y]]" {
		t.Fatalf("node b: %s", got)
	}
	mustExec(t, a, `DROP CONNECTION x`)
	mustExec(t, a, `CREATE CONNECTION z TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/Z')`)
	// Only the newest change is left: the DROP of x is no longer in the log.
	if _, err := raw.Exec(`DELETE FROM ` + schema + `.conncat_changes WHERE seq < (SELECT max(seq) FROM ` + schema + `.conncat_changes)`); err != nil {
		t.Fatal(err)
	}
	if got := names(t, b); got != "[[y] [z]]" {
		t.Fatalf("node b after the log was pruned: %s, want [[y] [z]]", got)
	}
}

// TestChangeLogRecordsEveryWriter: a write that bypasses conncat (an
// operator's UPDATE) is recorded by the triggers too, numbered after the
// last change, and reaches the replicas.
func TestChangeLogRecordsEveryWriter(t *testing.T) {
	a, b, raw, schema := twoNodes(t)
	mustExec(t, a, `CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/X')`)
	if got := names(t, b); got != "[[x]]" {
		t.Fatalf("node b: %s", got)
	}
	var before int64
	if err := raw.QueryRow(`SELECT max(seq) FROM ` + schema + `.conncat_changes`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE ` + schema + `.mz_connections SET name = 'renamed_by_hand'`); err != nil {
		t.Fatal(err)
	}
	var after int64
	var objects string
	if err := raw.QueryRow(`SELECT seq, string_agg(object_id, ',') FROM `+schema+`.conncat_changes WHERE seq > $1 GROUP BY seq`, before).Scan(&after, &objects); err != nil {
		t.Fatal(err)
	}
	if after != before+1 || objects != "u1" {
		t.Fatalf("the hand-made change is change %d naming %s, want %d naming u1", after, objects, before+1)
	}
	for _, c := range []*catalog.Executor{a, b} {
		if got := names(t, c); got != "[[renamed_by_hand]]" {
			t.Errorf("after the hand-made change: %s", got)
		}
	}
}

// TestReplicaFollowsACatalogMadeAnew: when the catalog's schema is dropped
// and made again under a running node (its log starts over, below what
// the node's replica held), the node's next read loads everything again
// rather than keep answering from rows that no longer exist.
func TestReplicaFollowsACatalogMadeAnew(t *testing.T) {
	a, b, raw, schema := twoNodes(t)
	for _, name := range []string{"x", "y", "z"} {
		mustExec(t, a, `CREATE CONNECTION `+name+` TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/X')`)
	}
	if got := names(t, b); got != "[[x] [y] [z]]" {
		t.Fatalf("node b: %s", got)
	}
	if _, err := raw.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
		t.Fatal(err)
	}
	st, err := postgres.New(raw, schema)
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Open(context.Background(), st, catalog.Options{Keys: testKey, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustExec(t, c, `CREATE CONNECTION fresh TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/X')`)
	if got := names(t, b); got != "[[fresh]]" {
		t.Fatalf("node b after the catalog was made anew: %s, want [[fresh]]", got)
	}
}

// TestReplicaCatchesUpFromAnEmptyLog: a catalog whose log is still empty
// (rows from before the log existed) is loaded once; the first change is
// applied on its own, not by loading everything again. Shown by a row
// written with the triggers off: a full load would bring it, a catch-up of
// the change does not.
func TestReplicaCatchesUpFromAnEmptyLog(t *testing.T) {
	a, b, raw, schema := twoNodes(t)
	if got := names(t, b); got != "[]" {
		t.Fatalf("node b: %s", got)
	}
	conn, err := raw.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `SET session_replication_role = replica;
		INSERT INTO `+schema+`.mz_connections VALUES ('u900', 'unlogged', 'aws', 'o', 'x', 'x', 'then', 'then');
		SET session_replication_role = DEFAULT`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, a, `CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/X')`)
	if got := names(t, b); got != "[[x]]" {
		t.Fatalf("node b after the first change: %s, want [[x]] (a full load would show the unlogged row)", got)
	}
}

// TestAuditTrailOnEveryNode: the audit trail node a writes is what node b
// reads, in order and once each, after both incremental catch-ups (an
// integer key among the log's object IDs) and a full load.
func TestAuditTrailOnEveryNode(t *testing.T) {
	a, b, raw, schema := twoNodes(t)
	ctx := catalog.WithRole(context.Background(), "alice")
	for _, s := range []string{`CREATE SECRET k AS 'fake'`, `CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/X')`} {
		stmt, _ := sqlparse.ParseOne(s)
		if _, err := a.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	const trail = `SELECT id, event_type, object_type, "user" FROM mz_audit_events ORDER BY id`
	want := "[[1 create secret alice] [2 create connection alice]]"
	if got := fmt.Sprint(mustExec(t, b, trail)[0].Rows); got != want {
		t.Fatalf("node b: %s, want %s", got, want)
	}
	mustExec(t, a, `GRANT USAGE ON CONNECTION x TO bob; DROP CONNECTION x`)
	want = "[[1 create secret alice] [2 create connection alice] [3 grant connection <nil>] [4 drop connection <nil>]]"
	if got := fmt.Sprint(mustExec(t, b, trail)[0].Rows); got != want {
		t.Fatalf("node b after more changes: %s, want %s", got, want)
	}
	// Events of use are written alone, with no change of an object to
	// announce them, and retention removes them, but never the newest: a
	// number once given is never given again (a reader that goes on from
	// the last number it saw must never miss an event).
	use := func(at time.Time, retention time.Duration) {
		t.Helper()
		var events []catalog.UseEvent
		if !at.IsZero() {
			events = append(events, catalog.UseEvent{Type: "assume_role", Details: map[string]string{"id": "u2"}, At: at})
		}
		if err := a.RecordUse(ctx, events, retention); err != nil {
			t.Fatal(err)
		}
	}
	changes := "[1 create secret alice] [2 create connection alice] [3 grant connection <nil>] [4 drop connection <nil>]"
	for _, step := range []struct {
		at        time.Time
		retention time.Duration
		want      string
	}{
		{fixedClock().Add(-time.Hour), 0, changes + " [5 assume_role connection <nil>]"},
		{fixedClock(), time.Minute, changes + " [6 assume_role connection <nil>]"},
		{fixedClock().Add(-time.Hour), 0, changes + " [6 assume_role connection <nil>] [7 assume_role connection <nil>]"},
		{time.Time{}, time.Minute, changes + " [6 assume_role connection <nil>] [7 assume_role connection <nil>]"},
	} {
		use(step.at, step.retention)
		if got := fmt.Sprint(mustExec(t, b, trail)[0].Rows); got != "["+step.want+"]" {
			t.Fatalf("node b after a use at %v with retention %v: %s, want [%s]", step.at, step.retention, got, step.want)
		}
	}
	if _, err := raw.Exec(`DELETE FROM ` + schema + `.conncat_changes`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, a, `DROP SECRET k`)
	want = "[" + changes + " [6 assume_role connection <nil>] [7 assume_role connection <nil>] [8 drop secret <nil>]]"
	if got := fmt.Sprint(mustExec(t, b, trail)[0].Rows); got != want {
		t.Fatalf("node b after a full load: %s, want %s", got, want)
	}
}

func postgresStore(raw *sql.DB, schema string) (catalog.Store, error) {
	return postgres.New(raw, schema)
}

// TestUseEventsAnnounceThemselves: PostgreSQL's log names the audit
// events written alone (a trigger's WHEN lists them), which must be every
// event type of use.
func TestUseEventsAnnounceThemselves(t *testing.T) {
	_, _, raw, schema := twoNodes(t)
	var def string
	if err := raw.QueryRow(`SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND t.tgname = 'conncat_use_events'`, schema).Scan(&def); err != nil {
		t.Fatal(err)
	}
	for _, typ := range catalog.UseEventTypes {
		if !strings.Contains(def, "'"+typ+"'") {
			t.Errorf("the trigger %s does not announce %q events", def, typ)
		}
	}
}
