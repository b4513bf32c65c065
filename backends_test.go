package conncat_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/internal/testenv"
)

// backends are the stores the conformance tests run against, with the
// same expectations on each.
var backends = []string{"sqlite", "postgres"}

// forEachBackend runs fn as a subtest per store.
func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// place is where a fresh catalog lives in a backend: what Open takes, the
// options the backend needs, and how to reach its tables without conncat.
type place struct {
	backend string
	target  string // a SQLite file, or a PostgreSQL URL
	schema  string // PostgreSQL only
	opts    []conncat.Option
}

// newPlace picks a new SQLite file; or, in the test binary's PostgreSQL
// cluster, a new schema with a key file (PostgreSQL catalogs must be given
// their key).
func newPlace(t testing.TB, backend string) place {
	t.Helper()
	dir := t.TempDir()
	if backend == "sqlite" {
		return place{backend: backend, target: filepath.Join(dir, "catalog.db")}
	}
	cluster := testenv.Postgres(t)
	schema := cluster.Schema()
	return place{backend: backend, target: cluster.URL, schema: schema,
		opts: []conncat.Option{conncat.WithSchema(schema), conncat.WithKeyFile(filepath.Join(dir, "catalog.key"))}}
}

// open opens the catalog with extra options; the test closes it.
func (p place) open(t testing.TB, opts ...conncat.Option) *conncat.Catalog {
	t.Helper()
	cat, err := conncat.Open(context.Background(), p.target, append(append([]conncat.Option{}, p.opts...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// raw opens the catalog's database without conncat, its tables reachable
// by their unqualified names.
func (p place) raw(t testing.TB) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if p.backend == "sqlite" {
		db, err = sql.Open("sqlite3", sqlite.DSN(p.target))
	} else {
		db, err = sql.Open("pgx", p.target+"&search_path="+p.schema)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openOn opens a fresh catalog in a backend and a raw handle on it.
func openOn(t testing.TB, backend string, opts ...conncat.Option) (*conncat.Catalog, *sql.DB) {
	t.Helper()
	p := newPlace(t, backend)
	return p.open(t, opts...), p.raw(t)
}
