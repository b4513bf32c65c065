package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/catalog"
)

// The embedded default: any target that no other store claims is a file.
func init() {
	catalog.RegisterBackend(catalog.Backend{
		Name:   "sqlite",
		Serves: func(string) bool { return true },
		ServesHandle: func(db *sql.DB) bool {
			_, ok := db.Driver().(*sqlite3.SQLiteDriver)
			return ok
		},
		Open:          openBackend,
		New:           func(db *sql.DB, _ catalog.BackendConfig) (catalog.Store, error) { return New(db) },
		ClassifyError: classifyDriverError,
	})
}

// openBackend opens the file at path; its key defaults to path + ".key"
// and its name to the file's base name.
func openBackend(_ context.Context, path string, _ catalog.BackendConfig) (*catalog.Opened, error) {
	db, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	store, err := New(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &catalog.Opened{DB: db, Store: store,
		Name:    strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)),
		KeyFile: path + ".key",
		Check:   func(ctx context.Context) error { return CheckWAL(ctx, db, path) }}, nil
}
