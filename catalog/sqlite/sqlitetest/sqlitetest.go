// Package sqlitetest registers SQLite's fixture for the tests every store
// must pass alike (see internal/storetest): a fresh file per catalog.
package sqlitetest

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/internal/storetest"
)

func init() {
	storetest.Register(storetest.Fixture{Name: "sqlite", New: newPlace})
}

func newPlace(t testing.TB) storetest.Place {
	path := filepath.Join(t.TempDir(), "catalog.db")
	return storetest.Place{Backend: "sqlite", Target: path, KeyBeside: true,
		Raw: func(testing.TB) string {
			var b strings.Builder
			for _, suffix := range []string{"", "-wal"} {
				data, _ := os.ReadFile(path + suffix)
				b.Write(data)
			}
			return b.String()
		},
		DB: openRaw(path),
		Tables: func(t testing.TB) map[string][]string {
			return storetest.ColumnsOf(t, openRaw(path)(t), `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
				WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)
		},
		OwnTables: map[string]string{"conncat_changes": "the change counter other processes on the file poll"},
	}
}

// openRaw opens path without conncat.
func openRaw(path string) func(t testing.TB) *sql.DB {
	return func(t testing.TB) *sql.DB {
		db, err := sql.Open("sqlite3", sqlite.DSN(path))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}
