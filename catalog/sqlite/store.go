// Package sqlite keeps a conncat catalog in a SQLite file (go-sqlite3):
// the embedded default, for one machine and any number of processes on it.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// Store is a catalog in a SQLite database.
type Store struct {
	db *sql.DB
	// writeMu serialises DDL in this process so that goroutines queue here
	// instead of meeting SQLITE_BUSY; busy_timeout covers other processes,
	// and _txlock=immediate makes each transaction take SQLite's write
	// lock at BEGIN, so it never fails half-way on its first write.
	writeMu sync.Mutex
}

// New returns the store of db, which must be a go-sqlite3 handle opened
// with DSN's settings (or at least _txlock=immediate and a busy timeout).
// The caller keeps ownership of db.
func New(db *sql.DB) (*Store, error) {
	if _, ok := db.Driver().(*sqlite3.SQLiteDriver); !ok {
		return nil, fmt.Errorf("a SQLite catalog needs a handle of go-sqlite3 (github.com/mattn/go-sqlite3), not of %T", db.Driver())
	}
	return &Store{db: db}, nil
}

// DB returns the store's handle.
func (s *Store) DB() *sql.DB { return s.db }

// StatementCacheSize is how many prepared statements each SQLite
// connection keeps (go-sqlite3's _stmt_cache_size). A CREATE CONNECTION
// runs a handful of fixed statements; without the cache SQLite compiles
// each of them again on every call.
const StatementCacheSize = 64

// DSN is the go-sqlite3 data source name conncat opens a catalog file
// with: WAL (readers never wait for the writer), a busy timeout for writers
// in other processes, foreign keys, _txlock=immediate (a transaction takes
// the write lock at BEGIN, so a transaction never fails half-way when it
// first writes; synchronous=NORMAL is WAL's durable-on-checkpoint mode (a
// power cut may lose the last commits, never corrupt the file).
func DSN(path string) string {
	return dsn(path, map[string]string{"_journal_mode": "WAL", "_foreign_keys": "on", "_synchronous": "NORMAL"})
}

// dsn is a go-sqlite3 data source name with the settings every catalog
// handle shares (busy timeout, _txlock=immediate, the statement cache)
// and those given.
func dsn(path string, settings map[string]string) string {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	q.Set("_stmt_cache_size", strconv.Itoa(StatementCacheSize))
	for k, v := range settings {
		q.Set(k, v)
	}
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// Write implements catalog.Store. fn's transaction is a connection (a
// *sql.Conn) inside BEGIN IMMEDIATE, so that QueryIn can run a guarded
// SELECT on it, seeing what fn wrote.
func (s *Store) Write(ctx context.Context, fn func(catalog.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return withConnTx(ctx, s.db, `BEGIN IMMEDIATE`, func(conn *sql.Conn) error {
		if err := fn(catalog.SQLTx{Handle: conn}); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

// withConnTx runs fn on one connection of db inside the transaction begin
// starts. fn commits; whatever it leaves open is rolled back, also when it
// panics, and a connection whose rollback failed is discarded, never
// reused inside an open transaction (it would keep SQLite's write lock).
func withConnTx(ctx context.Context, db *sql.DB, begin string, fn func(*sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err := rollbackIfOpen(ctx, conn); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return fn(conn)
}

// rollbackIfOpen ends conn's transaction if one is still open.
func rollbackIfOpen(ctx context.Context, conn *sql.Conn) error {
	autocommit := true
	if err := conn.Raw(func(dc any) error {
		if c, ok := dc.(*sqlite3.SQLiteConn); ok {
			autocommit = c.AutoCommit()
		}
		return nil
	}); err != nil || autocommit {
		return err
	}
	_, err := conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	return err
}

// QueryIn implements catalog.Store: tx is Write's connection, and the
// query runs on it, inside its transaction (see RunQuery).
func (s *Store) QueryIn(ctx context.Context, tx catalog.Tx, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
	sqlTx, _ := tx.(catalog.SQLTx)
	conn, ok := sqlTx.Handle.(*sql.Conn)
	if !ok {
		return fmt.Errorf("query: %T is not a transaction of this store", tx)
	}
	return runOn(ctx, conn, q, args, statuses, collect)
}

// withTx runs fn in a transaction of db, committed if fn succeeds and
// rolled back otherwise. The rollback is deferred, not called on error
// only: fn runs engine code (the clock, WITH (VALIDATE)'s network checks),
// and if that panics the transaction must still end, or its connection
// would keep SQLite's write lock and every later writer would wait for it.
func withTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Read implements catalog.Store: fn runs on one connection inside a
// deferred transaction, so in WAL mode every read in it sees one snapshot
// and it takes no write lock (go-sqlite3 begins every database/sql
// transaction as the DSN's _txlock=immediate says, which would queue a
// read behind every writer).
func (s *Store) Read(ctx context.Context, fn func(catalog.Tx) error) error {
	return withConnTx(ctx, s.db, `BEGIN DEFERRED`, func(conn *sql.Conn) error { return fn(catalog.SQLTx{Handle: conn}) })
}

// View implements catalog.Store: the file is where SELECT reads too.
func (s *Store) View(ctx context.Context, fn func(catalog.Tx) error) error { return s.Read(ctx, fn) }

// Reader implements catalog.Store: the handle itself, whose statements
// run in autocommit, each one snapshot.
func (s *Store) Reader() catalog.Tx { return catalog.SQLTx{Handle: s.db} }

// RoundTrips implements catalog.Store: SQLite runs in process.
func (s *Store) RoundTrips() bool { return false }

// Query implements catalog.Store: the query runs on the catalog file
// itself (see RunQuery).
func (s *Store) Query(ctx context.Context, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
	return RunQuery(ctx, s.db, q, args, statuses, collect)
}

// RunQuery runs a gated SELECT on db, a go-sqlite3 handle of a database
// with the catalog's tables: the file store's, or a PostgreSQL node's
// replica, so that every store answers a SELECT with one engine. The query
// runs on its own connection with PRAGMA query_only (SQLite itself refuses
// any write), an authorizer that lets it read only the catalog tables and
// call only the allowed functions, and a cap on the length of every value
// it computes. statuses gives the rows of catalog.StatusTable, asked only
// when the query reads it.
func RunQuery(ctx context.Context, db *sql.DB, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer conn.Close()
	return runOn(ctx, conn, q, args, statuses, collect)
}

// runOn is RunQuery on conn, which may be inside a write transaction
// whose uncommitted rows the query then sees.
func runOn(ctx context.Context, conn *sql.Conn, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
	text, err := q.SQLite(func(t sqlparse.TableRef) error {
		if !catalog.IsTable(t.Name) {
			return catalog.UndefinedTableError(t)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if readsStatuses(q) {
		if err := fillStatuses(ctx, conn, statuses); err != nil {
			return fmt.Errorf("query: %w", err)
		}
	}
	role, restricted := catalog.QueryRole(ctx)
	if restricted {
		unrestrict, err := restrict(ctx, conn, role, q)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		defer unrestrict()
		if readsStatuses(q) {
			if err := hideStatuses(ctx, conn, role); err != nil {
				return fmt.Errorf("query: %w", err)
			}
		}
	}
	// case_sensitive_like: LIKE compares case as PostgreSQL's does.
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = ON; PRAGMA case_sensitive_like = ON`); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer conn.ExecContext(context.Background(), `PRAGMA query_only = OFF; PRAGMA case_sensitive_like = OFF`)
	g, unguard, err := guard(conn, q.CTENames(), restricted)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer unguard()
	rows, err := conn.QueryContext(ctx, text, args...)
	if err != nil {
		return queryError(ctx, q, g, err, true)
	}
	if err := collect(rows); err != nil {
		var coded *sqlerror.Error
		if errors.As(err, &coded) {
			return err
		}
		return queryError(ctx, q, g, err, false)
	}
	return nil
}

// queryError names what went wrong with a query SQLite refused (compiling)
// or failed while computing its rows.
func queryError(ctx context.Context, q *sqlparse.Query, g *readGuard, err error, compiling bool) error {
	switch {
	case ctx.Err() != nil:
		return catalog.CanceledError(ctx)
	case g.refused != "":
		return g.err(q)
	}
	if e := tooBig(err, q); e != nil {
		return e
	}
	if e := missingColumn(err); e != nil {
		return e
	}
	if e := ambiguousColumn(err, q); e != nil {
		return e
	}
	return catalog.QueryFailedError(q, compiling, err)
}

// missingColumn reads SQLite's "no such column: c.nam", the only place it
// names the column, or returns nil for any other error.
func missingColumn(err error) error {
	const prefix = "no such column: "
	var se sqlite3.Error
	if !errors.As(err, &se) || !strings.HasPrefix(se.Error(), prefix) {
		return nil
	}
	return &catalog.MissingColumnError{Written: strings.TrimPrefix(se.Error(), prefix), Err: err}
}

// ambiguousColumn reads SQLite's "ambiguous column name: x", or is nil.
func ambiguousColumn(err error, q *sqlparse.Query) *sqlerror.Error {
	const prefix = "ambiguous column name: "
	var se sqlite3.Error
	if !errors.As(err, &se) || !strings.HasPrefix(se.Error(), prefix) {
		return nil
	}
	return catalog.AmbiguousColumnError(q, strings.TrimPrefix(se.Error(), prefix), err)
}

// tooBig is the error for a query that computed a value over
// MaxQueryValueLen, or nil.
func tooBig(err error, q *sqlparse.Query) *sqlerror.Error {
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrTooBig {
		return nil
	}
	return &sqlerror.Error{Code: sqlstate.ProgramLimitExceeded, Position: q.Pos(), Err: err,
		Message: fmt.Sprintf("query computed a value over %d MiB", MaxQueryValueLen>>20),
		Hint:    "Catalog queries may not build strings or blobs that large."}
}
