package catalog_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/storetest"
)

// TestStoresFollowTheSchema: after every migration, each store's catalog
// has exactly the tables and columns catalog.Schema describes (its
// migrations are written apart, in its own SQL, so a column added to one
// and forgotten in another fails here), apart from the tables the store
// keeps for its own machinery.
func TestStoresFollowTheSchema(t *testing.T) { forEachBackend(t, testStoreFollowsTheSchema) }

func testStoreFollowsTheSchema(t *testing.T, backend string) {
	place := storetest.NewPlace(t, backend)
	openPlace(t, place, catalog.Options{}) // migrated by opening
	tables := place.Tables(t)
	for name := range place.OwnTables {
		delete(tables, name)
	}
	want := catalog.Schema()
	for _, stored := range catalog.StoredTables {
		if _, ok := want[stored.Name]; !ok {
			t.Errorf("stored table %s is not in catalog.Schema", stored.Name)
		}
	}
	for name, cols := range want {
		if got, ok := tables[name]; !ok {
			t.Errorf("table %s is missing", name)
		} else if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(cols))) {
			t.Errorf("table %s: the store has %v, the schema says %v", name, got, cols)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		if _, ok := want[name]; !ok {
			t.Errorf("table %s is not in catalog.Schema nor the store's own", name)
		}
	}
}
