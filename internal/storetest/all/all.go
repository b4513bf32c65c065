// Package all registers the test fixture of every backend conncat ships:
// the one list a new backend joins (beside the engine API's import that
// registers the backend itself).
package all

import (
	_ "github.com/conncat/conncat/catalog/postgres/pgtest"   // PostgreSQL
	_ "github.com/conncat/conncat/catalog/sqlite/sqlitetest" // SQLite, the default
)
