// Package postgres keeps a conncat catalog in PostgreSQL (through pgx):
// one catalog shared by every node of an engine. The catalog's tables live
// in their own schema, so one database can hold several catalogs.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/sqlparse"
)

// DefaultSchema is the schema a catalog's tables live in unless told.
const DefaultSchema = "conncat"

// Store is a catalog in a PostgreSQL schema.
type Store struct {
	db     *sql.DB
	schema string
	// replica is this node's copy of the stored tables, where SELECT,
	// SHOW and Describe read (see replica.go).
	replica *sqlite.Replica
	// catchingUp holds a token while one goroutine brings the replica up
	// to date; others wait for it (or their context) instead of fetching
	// the same change twice.
	catchingUp chan struct{}
	// placeholders fills the {{…}} of the store's own statements (expand).
	placeholders *strings.Replacer
	// latestSQL reads the latest change number, before every read.
	latestSQL string
	// wrote is set when this handle committed DDL the replica may not
	// have applied yet.
	wrote atomic.Bool
	// StaleReads lets SELECT, SHOW and Describe read the replica as the
	// change feed keeps it, without first asking PostgreSQL for the
	// latest change: no round trip, and answers while PostgreSQL is
	// unreachable, but DDL another node committed moments before may not
	// be seen yet. This handle's own DDL is always seen. Set before Open.
	StaleReads bool
	// lockKey is the transaction-scoped advisory lock that serialises the
	// catalog's DDL and migrations across every node.
	lockKey int64
	// rebound caches each statement with its ? placeholders as $n.
	rebound sync.Map
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// New returns the store of the catalog in schema (DefaultSchema when "")
// of db, a handle of pgx's database/sql driver. The caller keeps
// ownership of db.
func New(db *sql.DB, schema string) (*Store, error) {
	if _, ok := db.Driver().(*stdlib.Driver); !ok {
		return nil, fmt.Errorf("a PostgreSQL catalog needs a handle of pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib), not of %T", db.Driver())
	}
	if schema == "" {
		schema = DefaultSchema
	}
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("schema name %q: use 1 to 48 lower-case letters, digits and underscores, not starting with a digit", schema)
	}
	h := fnv.New64a()
	h.Write([]byte("conncat catalog " + schema))
	s := &Store{db: db, schema: schema, lockKey: int64(h.Sum64()), catchingUp: make(chan struct{}, 1)}
	s.placeholders = s.newPlaceholders()
	s.latestSQL = s.expand(`SELECT coalesce(max(seq), 0) FROM {{schema}}.conncat_changes`)
	return s, nil
}

// DB returns the store's handle.
func (s *Store) DB() *sql.DB { return s.db }

// Schema returns the schema the catalog's tables live in.
func (s *Store) Schema() string { return s.schema }

// Read implements catalog.Store: a read-only repeatable-read transaction,
// one snapshot.
func (s *Store) Read(ctx context.Context, fn func(catalog.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(&boundTx{q: catalog.SQLTx{Handle: tx}, s: s})
}

// Reader implements catalog.Store: statements outside any transaction,
// each its own snapshot, in the catalog's schema.
func (s *Store) Reader() catalog.Tx { return &boundTx{q: catalog.SQLTx{Handle: s.db}, s: s} }

// RoundTrips implements catalog.Store: every statement is one.
func (s *Store) RoundTrips() bool { return true }

// boundTx runs the executor's statements in the catalog's schema, with
// their ? placeholders as PostgreSQL's $n.
type boundTx struct {
	q catalog.SQLTx // on a *sql.Tx, or on the *sql.DB for Reader
	s *Store
}

func (t *boundTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.q.ExecContext(ctx, t.s.bind(query), args...)
}

func (t *boundTx) QueryContext(ctx context.Context, query string, args ...any) (catalog.Rows, error) {
	return t.q.QueryContext(ctx, t.s.bind(query), args...)
}

func (t *boundTx) QueryRowContext(ctx context.Context, query string, args ...any) catalog.Row {
	return t.q.QueryRowContext(ctx, t.s.bind(query), args...)
}

// catalogTables are every table of the schema, which the executor's
// statements name unqualified.
var catalogTables = []string{"conncat_ids", "conncat_secret_values", "conncat_external_ids", "conncat_schema",
	"mz_connections", "mz_aws_connections", "mz_s3_connections", "mz_secrets", "mz_object_dependencies",
	"mz_connection_validations", "mz_audit_events", "conncat_settings"}

var tableWord = regexp.MustCompile(`\b(` + strings.Join(catalogTables, "|") + `)\b`)

// bind rewrites an executor statement for PostgreSQL: ? becomes $1, $2,
// ... (the executor's statements hold no ? inside literals) and every
// table name is qualified with the schema, so that no search_path setting
// on the engine's connections can point a statement elsewhere.
func (s *Store) bind(query string) string {
	if q, ok := s.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, c := range []byte(query) {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	qualified := tableWord.ReplaceAllString(b.String(), quoteIdent(s.schema)+".$1")
	s.rebound.Store(query, qualified)
	return qualified
}

// Query implements catalog.Store: on the node's replica, once it holds
// every change committed before the query began (see fresh). Measured:
// asking for the latest change while the query already runs in the
// replica, and running it again only when the replica turned out behind,
// was slower on two busy cores (180 µs against 130 µs: the round trip,
// SQLite and PostgreSQL's backend then compete for the cores).
func (s *Store) Query(ctx context.Context, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
	if err := s.fresh(ctx); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return s.replica.Query(ctx, q, args, statuses, collect)
}

// View implements catalog.Store: one snapshot of the replica, as fresh as
// a query.
func (s *Store) View(ctx context.Context, fn func(catalog.Tx) error) error {
	if err := s.fresh(ctx); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return s.replica.Read(ctx, fn)
}
