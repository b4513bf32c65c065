package conncat_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/storetest"
	_ "github.com/conncat/conncat/internal/storetest/all" // every backend's fixture
)

// backends are the stores the conformance tests run against, with the
// same expectations on each. A backend joins by registering its fixture
// (internal/storetest).
var backends = storetest.Names()

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
	at      storetest.Place
}

// newPlace is a fresh place in backend, with a key file when the backend
// keeps none beside the catalog (PostgreSQL catalogs must be given theirs).
func newPlace(t testing.TB, backend string) place {
	t.Helper()
	at := storetest.NewPlace(t, backend)
	p := place{backend: backend, target: at.Target, schema: at.Config.Schema, at: at}
	if p.schema != "" {
		p.opts = append(p.opts, conncat.WithSchema(p.schema))
	}
	if !at.KeyBeside {
		p.opts = append(p.opts, conncat.WithKeyFile(filepath.Join(t.TempDir(), "catalog.key")))
	}
	return p
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
	return p.at.DB(t)
}

// openOn opens a fresh catalog in a backend and a raw handle on it.
func openOn(t testing.TB, backend string, opts ...conncat.Option) (*conncat.Catalog, *sql.DB) {
	t.Helper()
	p := newPlace(t, backend)
	return p.open(t, opts...), p.raw(t)
}
