package catalog_test

import (
	"database/sql"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog"
)

// storeOnlyTables are the tables one store keeps for its own machinery,
// which the other has no use for.
var storeOnlyTables = map[string]string{
	"conncat_changes": "postgres: the change log every node's replica follows",
}

// TestStoresAgreeOnTheSchema: after every migration, the SQLite and the
// PostgreSQL catalog have the same tables with the same columns (the two
// migration histories are written apart, so a column added to one and
// forgotten in the other fails here), apart from storeOnlyTables.
func TestStoresAgreeOnTheSchema(t *testing.T) {
	_, path := newCatalog(t, catalog.Options{})
	lite := openDB(t, path)
	sqliteTables := columnsOf(t, lite, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)

	_, _, db, schema := twoNodes(t) // migrated by opening
	pgTables := columnsOf(t, db, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, schema)

	for _, name := range slices.Sorted(maps.Keys(storeOnlyTables)) {
		delete(sqliteTables, name)
		delete(pgTables, name)
	}
	if len(sqliteTables) < len(catalog.StoredTables) || len(pgTables) < len(catalog.StoredTables) {
		t.Fatalf("too few tables read: SQLite %v, PostgreSQL %v", slices.Sorted(maps.Keys(sqliteTables)), slices.Sorted(maps.Keys(pgTables)))
	}
	t.Logf("tables compared: %v", slices.Sorted(maps.Keys(sqliteTables)))
	for name, cols := range sqliteTables {
		if got, ok := pgTables[name]; !ok {
			t.Errorf("table %s is only in SQLite", name)
		} else if !slices.Equal(sortedCopy(got), sortedCopy(cols)) {
			t.Errorf("table %s: SQLite has %v, PostgreSQL %v", name, cols, got)
		}
	}
	for name := range pgTables {
		if _, ok := sqliteTables[name]; !ok {
			t.Errorf("table %s is only in PostgreSQL", name)
		}
	}
	for _, stored := range catalog.StoredTables {
		if _, ok := sqliteTables[stored.Name]; !ok {
			t.Errorf("stored table %s is in neither schema", stored.Name)
		}
	}
}

// columnsOf runs query (table, column rows) into columns by table.
func columnsOf(t *testing.T, db *sql.DB, query string, args ...any) map[string][]string {
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
		out[strings.ToLower(table)] = append(out[strings.ToLower(table)], strings.ToLower(column))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
