package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// OpenFile opens a handle on the catalog file at path, as DSN sets it up.
func OpenFile(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// CheckWAL confirms that the file is in WAL mode, which readers beside a
// writer (and a replica's updates beside its SELECTs) rely on: a file on a
// filesystem that cannot hold a WAL stays in another mode.
func CheckWAL(ctx context.Context, db *sql.DB, path string) error {
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("open %s: journal mode is %q, want wal (%v)", path, mode, err)
	}
	return nil
}
