package catalog

import (
	"context"
	"database/sql"
)

// SchemaVersion is the version a fully migrated catalog has (tests only).
var SchemaVersion = schemaVersion()

// OpenAtVersion creates or migrates db only up to schema version v and
// stops, for tests of migrations from older versions.
func OpenAtVersion(ctx context.Context, db *sql.DB, opts Options, v int) error {
	c := &Catalog{db: db, opts: opts}
	return c.migrate(ctx, v)
}
