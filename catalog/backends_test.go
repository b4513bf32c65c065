package catalog_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/postgres"
	"github.com/conncat/conncat/internal/testenv"
)

// backends are the stores the conformance tests run against: every test
// that takes a backend must give the same result on each.
var backends = []string{"sqlite", "postgres"}

// forEachBackend runs fn as a subtest per store.
func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// newCatalogOn opens a fresh catalog in a backend: a new SQLite file, or
// a new schema in the test binary's PostgreSQL cluster.
func newCatalogOn(t testing.TB, backend string, opts catalog.Options) *catalog.Executor {
	c, _ := openOn(t, backend, opts)
	return c
}

// rawContents returns everything a store holds, as bytes: the SQLite file
// and its WAL, or every row of every table of the PostgreSQL schema.
type rawContents func() string

// openOn is newCatalogOn that also returns a reader of the store's raw
// contents, for tests that look for secrets where no API shows them.
func openOn(t testing.TB, backend string, opts catalog.Options) (*catalog.Executor, rawContents) {
	t.Helper()
	if backend == "sqlite" {
		c, path := newCatalog(t, opts)
		return c, func() string {
			var b strings.Builder
			for _, suffix := range []string{"", "-wal"} {
				data, _ := os.ReadFile(path + suffix)
				b.Write(data)
			}
			return b.String()
		}
	}
	if opts.Keys == nil {
		opts.Keys = testKey
	}
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	cluster := testenv.Postgres(t)
	db, err := sql.Open("pgx", cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := cluster.Schema()
	st, err := postgres.New(db, schema)
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Open(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // the node's replica goes with it
	return c, func() string { return dumpSchema(t, db, schema) }
}

// dumpSchema is every row of every table of a schema, bytea included.
func dumpSchema(t testing.TB, db *sql.DB, schema string) string {
	t.Helper()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		var dump sql.NullString
		q := fmt.Sprintf(`SELECT string_agg(t::text, E'\n') FROM %q.%q t`, schema, table)
		if err := db.QueryRow(q).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		b.WriteString(dump.String)
	}
	return b.String()
}
