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
// writers and isolate readers, and where SELECT, SHOW and Describe read.
// Every store answers SELECT with one engine, SQLite: the file store on
// its file, the PostgreSQL store on a replica in the node's process, so a
// query means the same on every store by construction.
//
// The executor's statements use ? placeholders and SQL that both
// databases read alike (ON CONFLICT DO NOTHING, row-valued UPDATE SET);
// a store rewrites placeholders as its driver needs.
type Store interface {
	// Open brings the schema to the store's current version, exactly
	// once however many processes or nodes open the catalog together, and
	// prepares what the store keeps in the process (PostgreSQL's replica).
	Open(ctx context.Context) error
	// Close releases what Open prepared in the process; the database
	// handle stays the caller's.
	Close() error
	// Write runs fn in one transaction that holds the catalog's write
	// lock, so that DDL of one catalog is serial across every process and
	// node: commit if fn returns nil, roll back otherwise (also when fn
	// panics).
	Write(ctx context.Context, fn func(Tx) error) error
	// Read runs fn in one read-only transaction of the database: one
	// snapshot, no write lock taken.
	Read(ctx context.Context, fn func(Tx) error) error
	// Reader runs reads of one statement each outside any transaction,
	// each statement its own snapshot.
	Reader() Tx
	// View runs fn in one snapshot of the StoredTables where SELECT
	// reads them (the file, or the replica), as fresh as a SELECT (see
	// Query); it never sees a sealed value.
	View(ctx context.Context, fn func(Tx) error) error
	// RoundTrips reports whether every statement costs a network round
	// trip (PostgreSQL). Then Resolve is one statement joining everything
	// it needs, read through Reader; in process (SQLite), where joining
	// eight tables costs more than a few narrow statements, it is those in
	// one Read.
	RoundTrips() bool
	// Query runs a gated SELECT with its parameter values in SQLite
	// (sqlite.RunQuery) and hands its rows to collect. It sees every DDL
	// committed, by any process or node, before it began. Errors are
	// *sqlerror.Error with a SQLSTATE for everything the query did wrong
	// (a missing table or column, a value too large, a refusal).
	// statuses gives StatusTable's rows (StatusColumns, in order); it is
	// called only for a query that reads that table.
	Query(ctx context.Context, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error
	// QueryIn is Query as tx, one of Write's transactions, sees the
	// catalog: with the rows it wrote and has not committed (the SELECT
	// of a transaction block, run in the block's trial). It runs in SQLite
	// as Query does, so it answers as Query would after a commit.
	QueryIn(ctx context.Context, tx Tx, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error
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

// Tx is one transaction of a Store. Its reads return Row and Rows rather
// than database/sql's concrete types so that a store may answer a read
// from rows it already holds: PostgreSQL's write transaction sends a read
// in one pipeline with the writes held back before it (and with BEGIN and
// the catalog's lock, for the first), and hands back the rows it buffered.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) Row
}

// Row is the first row of a read, as *sql.Row: Scan reports
// sql.ErrNoRows when there is none, and the read's error otherwise.
type Row interface {
	Scan(dest ...any) error
}

// Rows are the rows of a read, as *sql.Rows.
type Rows interface {
	Columns() ([]string, error)
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// SQLHandle is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type SQLHandle interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// SQLTx is a Tx that runs each statement on a database/sql handle as it
// comes; a store that needs the handle back (to run a query on the same
// connection) finds it in Handle.
type SQLTx struct{ Handle SQLHandle }

// ExecContext runs a statement that returns no rows.
func (t SQLTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Handle.ExecContext(ctx, query, args...)
}

// QueryContext runs a read. A failed one returns a nil Rows, not a typed
// nil inside the interface.
func (t SQLTx) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := t.Handle.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// QueryRowContext runs a read of one row.
func (t SQLTx) QueryRowContext(ctx context.Context, query string, args ...any) Row {
	return t.Handle.QueryRowContext(ctx, query, args...)
}

// StoredTable is a table of the catalog that a store keeps and SELECT may
// read, and the column holding the ID of the object each row belongs to.
// IntegerKey marks a table whose rows are their own objects, numbered
// in commit order and only appended, except that old ones may be removed
// (mz_audit_events): a replica takes the rows numbered above its highest
// as new, and a store's change log (as text, beside object IDs) need name
// only the rows that were removed or that were written alone, with no
// other change to announce them.
type StoredTable struct {
	Name, ObjectColumn string
	IntegerKey         bool
}

// StoredTables are the catalog's readable stored tables: everything a
// replica copies. No sealed value is in any of them.
var StoredTables = []StoredTable{
	{"mz_connections", "id", false}, {"mz_aws_connections", "id", false}, {"mz_s3_connections", "id", false},
	{"mz_secrets", "id", false}, {"mz_object_dependencies", "object_id", false}, {"mz_connection_validations", "connection_id", false},
	{"mz_audit_events", "id", true},
}

// catalogTables are the tables SELECT may read, by the names a store
// gives them too.
var catalogTables = map[string]bool{
	"mz_connections": true, "mz_aws_connections": true, "mz_s3_connections": true,
	"mz_secrets": true, "mz_object_dependencies": true, "mz_connection_validations": true,
	"mz_audit_events": true, StatusTable: true,
}

// Tables lists the tables SELECT may read, sorted.
func Tables() []string { return slices.Sorted(maps.Keys(catalogTables)) }

// IsTable reports whether name (lower case) is a table SELECT may read.
func IsTable(name string) bool { return catalogTables[name] }
