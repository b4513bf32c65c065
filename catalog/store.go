package catalog

import (
	"context"
	"database/sql"
	"maps"
	"slices"

	"github.com/conncat/conncat/sqlparse"
)

// Store is the database a catalog lives in: SQLite (catalog/sqlite) for
// one machine, PostgreSQL (catalog/postgres) for many nodes. The executor
// (this package) owns the semantics: every statement's checks, errors,
// create_sql, sealing and notices. A store owns what differs between
// databases: the schema and its migrations, how transactions serialise
// writers and isolate readers, and how a gated SELECT runs behind the
// store's own second safety layer.
//
// The executor's statements use ? placeholders and SQL that both
// databases read alike (ON CONFLICT DO NOTHING, row-valued UPDATE SET);
// a store rewrites placeholders as its driver needs.
type Store interface {
	// Migrate brings the schema to the store's current version, exactly
	// once however many processes or nodes open the catalog together.
	Migrate(ctx context.Context) error
	// Write runs fn in one transaction that holds the catalog's write
	// lock, so that DDL of one catalog is serial across every process and
	// node: commit if fn returns nil, roll back otherwise (also when fn
	// panics).
	Write(ctx context.Context, fn func(Tx) error) error
	// Read runs fn in one read-only transaction: one snapshot, no write
	// lock taken.
	Read(ctx context.Context, fn func(Tx) error) error
	// Reader runs reads of one statement each outside any transaction,
	// each statement its own snapshot.
	Reader() Tx
	// RoundTrips reports whether every statement costs a network round
	// trip (PostgreSQL). Then Resolve is one statement joining everything
	// it needs, read through Reader; in process (SQLite), where joining
	// eight tables costs more than a few narrow statements, it is those in
	// one Read.
	RoundTrips() bool
	// Query runs a gated SELECT with its parameter values, in a read-only
	// transaction behind the store's own second layer (a reader that can
	// see only the catalog tables), and hands its rows to collect. Errors
	// are *sqlparse.Error with a SQLSTATE for everything the query did
	// wrong (a missing table or column, a value too large, a refusal).
	// inline holds the tables whose rows this process supplies rather than
	// the database (see sqlparse.Rows), by name: q reads them as written.
	Query(ctx context.Context, q *sqlparse.Query, args []any, inline map[string]*sqlparse.Rows, collect func(*sql.Rows) error) error
	// Publish tells the catalog's other handles (other processes, other
	// nodes) that the connections ids changed, inside the write
	// transaction tx: they learn of it when it commits, never of a change
	// that rolled back.
	Publish(ctx context.Context, tx Tx, ids []string) error
	// Watch calls changed with the IDs that handles changed, soon after
	// they commit, until ctx ends. all means changes may have been missed
	// (the feed was down, or fell behind): forget everything cached. Calls
	// come from one goroutine; Watch returns when ctx ends.
	Watch(ctx context.Context, changed func(ids []string, all bool))
}

// Tx is one transaction of a Store.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// catalogTables are the tables SELECT may read, by the names a store
// gives them too.
var catalogTables = map[string]bool{
	"mz_connections": true, "mz_aws_connections": true, "mz_s3_connections": true,
	"mz_secrets": true, "mz_object_dependencies": true, "mz_connection_validations": true,
	StatusTable: true,
}

// Tables lists the tables SELECT may read, sorted.
func Tables() []string { return slices.Sorted(maps.Keys(catalogTables)) }

// IsTable reports whether name (lower case) is a table SELECT may read.
func IsTable(name string) bool { return catalogTables[name] }
