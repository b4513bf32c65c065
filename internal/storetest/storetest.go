// Package storetest gives the tests every store must pass alike (the
// catalog's conformance suite, the engine API's) a fresh catalog in each
// registered backend. A backend joins them by registering a Fixture from a
// test-support package of its own (catalog/sqlite/sqlitetest,
// catalog/postgres/pgtest) that storetest/all imports: the tests name no
// backend and open every store through its catalog.Backend.
package storetest

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog"
)

// A Place is where one fresh catalog lives in a backend.
type Place struct {
	Backend string
	// Target is what conncat.Open and catalog.BackendFor take: a file, a
	// URL.
	Target string
	// Config is what the backend needs beyond the target (PostgreSQL: a
	// schema of its own).
	Config catalog.BackendConfig
	// KeyBeside says the backend keeps a sealing key beside the catalog
	// when the engine gives none (a file's); otherwise tests must give one.
	KeyBeside bool
	// Raw is every byte the backend holds for the catalog, for tests that
	// look for secrets where no API shows them.
	Raw func(t testing.TB) string
	// DB opens a handle on the catalog's tables without conncat, their
	// unqualified names resolving to them; closed when t ends.
	DB func(t testing.TB) *sql.DB
	// Tables reads the catalog's tables and their columns from the
	// store's own dictionary, lower case.
	Tables func(t testing.TB) map[string][]string
	// OwnTables are the tables the store keeps for its own machinery,
	// beyond catalog.Schema, each with why.
	OwnTables map[string]string
}

// ColumnsOf runs query (rows of table, column) on db into columns by
// table, lower case, for a fixture's Tables.
func ColumnsOf(t testing.TB, db *sql.DB, query string, args ...any) map[string][]string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		table = strings.ToLower(table)
		out[table] = append(out[table], strings.ToLower(column))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A Fixture makes fresh places in one backend.
type Fixture struct {
	Name string
	New  func(t testing.TB) Place
}

var fixtures []Fixture

// Register adds a backend's fixture; test-support packages call it from
// init, as stores register their backends.
func Register(f Fixture) { fixtures = append(fixtures, f) }

// Names are the registered backends, in registration order.
func Names() []string {
	names := make([]string, len(fixtures))
	for i, f := range fixtures {
		names[i] = f.Name
	}
	return names
}

// NewPlace is a fresh place in the named backend.
func NewPlace(t testing.TB, backend string) Place {
	t.Helper()
	for _, f := range fixtures {
		if f.Name == backend {
			return f.New(t)
		}
	}
	t.Fatalf("no fixture registered for backend %q (import storetest/all)", backend)
	return Place{}
}

// Store opens the place's store through its backend's registration, as
// conncat.Open would; its handle is closed when t ends. Each call is one
// more handle on the same catalog: another process, another node.
func (p Place) Store(t testing.TB) catalog.Store {
	t.Helper()
	b, ok := catalog.BackendFor(p.Target)
	if !ok || b.Name != p.Backend {
		t.Fatalf("target %q is not served by backend %s", p.Target, p.Backend)
	}
	cfg := p.Config
	cfg.KeyGiven = true // tests give their key
	opened, err := b.Open(context.Background(), p.Target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { opened.DB.Close() })
	return opened.Store
}
