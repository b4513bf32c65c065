package catalog_test

import (
	"context"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/storetest"
	_ "github.com/conncat/conncat/internal/storetest/all" // every backend's fixture
)

// backends are the stores the conformance tests run against: every test
// that takes a backend must give the same result on each. A backend joins
// by registering its fixture (internal/storetest).
var backends = storetest.Names()

// forEachBackend runs fn as a subtest per store.
func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// newCatalogOn opens a fresh catalog in a backend.
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
	place := storetest.NewPlace(t, backend)
	c := openPlace(t, place, opts)
	return c, func() string { return place.Raw(t) }
}

// openPlace opens a catalog at place, with the tests' key and clock
// unless opts gives its own; each call is another handle (a process, a
// node) on the same catalog.
func openPlace(t testing.TB, place storetest.Place, opts catalog.Options) *catalog.Executor {
	t.Helper()
	if opts.Keys == nil {
		opts.Keys = testKey
	}
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	c, err := catalog.Open(context.Background(), place.Store(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // a node's replica goes with it
	return c
}
