// Package postgres keeps a conncat catalog in PostgreSQL (through pgx):
// one catalog shared by every node of an engine. The catalog's tables live
// in their own schema, so one database can hold several catalogs.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// DefaultSchema is the schema a catalog's tables live in unless told.
const DefaultSchema = "conncat"

// Store is a catalog in a PostgreSQL schema.
type Store struct {
	db     *sql.DB
	schema string
	// reader is the role SELECTs run as: it may read the catalog tables
	// and nothing else of the catalog, the sealed values least of all.
	reader string
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
	return &Store{db: db, schema: schema, reader: "conncat_reader_" + schema, lockKey: int64(h.Sum64())}, nil
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
	return fn(&boundTx{q: tx, s: s})
}

// Reader implements catalog.Store: statements outside any transaction,
// each its own snapshot, in the catalog's schema.
func (s *Store) Reader() catalog.Tx { return &boundTx{q: s.db, s: s} }

// RoundTrips implements catalog.Store: every statement is one.
func (s *Store) RoundTrips() bool { return true }

// boundTx runs the executor's statements in the catalog's schema, with
// their ? placeholders as PostgreSQL's $n.
type boundTx struct {
	q catalog.Tx // a *sql.Tx, or the *sql.DB for Reader
	s *Store
}

func (t *boundTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.q.ExecContext(ctx, t.s.bind(query), args...)
}

func (t *boundTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.q.QueryContext(ctx, t.s.bind(query), args...)
}

func (t *boundTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.q.QueryRowContext(ctx, t.s.bind(query), args...)
}

// catalogTables are every table of the schema, which the executor's
// statements name unqualified.
var catalogTables = []string{"conncat_ids", "conncat_secret_values", "conncat_external_ids", "conncat_schema",
	"mz_connections", "mz_aws_connections", "mz_s3_connections", "mz_secrets", "mz_object_dependencies",
	"mz_connection_validations"}

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

// functions are the functions a catalog query may call on PostgreSQL:
// those of sqlparse's list that PostgreSQL has, with the same meaning.
var functions = map[string]bool{
	"lower": true, "upper": true, "length": true, "char_length": true, "substr": true,
	"substring": true, "trim": true, "ltrim": true, "rtrim": true, "replace": true,
	"coalesce": true, "nullif": true, "abs": true, "round": true, "concat": true,
	"concat_ws": true, "count": true, "sum": true, "avg": true, "min": true, "max": true,
	"row_number": true, "rank": true, "dense_rank": true,
}

// DefaultQueryTimeout bounds a catalog query whose context has no
// deadline: PostgreSQL cancels it (statement_timeout) even if the client
// is gone.
const DefaultQueryTimeout = time.Minute

// Query implements catalog.Store. The query runs in a read-only
// transaction, as the reader role (which may read the catalog tables and
// nothing else of the catalog), with a statement timeout.
func (s *Store) Query(ctx context.Context, q *sqlparse.Query, args []any, inline map[string]*sqlparse.Rows, collect func(*sql.Rows) error) error {
	for _, f := range q.Functions() {
		if !functions[f.Name] {
			return &sqlparse.Error{Code: sqlstate.UndefinedFunction, Position: f.Pos,
				Message: fmt.Sprintf("function %s is not available in catalog queries on PostgreSQL", f.Name),
				Hint:    "This catalog is stored in PostgreSQL; " + f.Name + " is one of SQLite's functions."}
		}
	}
	text, err := q.PostgreSQL(func(t sqlparse.TableRef) (string, error) {
		if !catalog.IsTable(t.Name) {
			return "", catalog.UndefinedTableError(t)
		}
		return s.schema + "." + t.Name, nil
	}, inline)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer tx.Rollback()
	timeout := DefaultQueryTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(deadline), time.Millisecond)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL ROLE %s; SET LOCAL statement_timeout = %d`,
		quoteIdent(s.reader), timeout.Milliseconds()+1)); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	rows, err := tx.QueryContext(ctx, text, asText(args)...)
	if err != nil {
		return s.queryError(ctx, q, err)
	}
	if err := collect(rows); err != nil {
		var coded *sqlparse.Error
		if errors.As(err, &coded) {
			return err
		}
		return s.queryError(ctx, q, err)
	}
	return nil
}

// asText sends numbers as their text: PostgreSQL then reads each as the
// type it inferred for its parameter, as SQLite compares a number with a
// text column as text. Sent as numbers, pgx refuses to encode one for a
// parameter PostgreSQL typed as text ("name = $1" with 7).
func asText(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		case float64:
			out[i] = strconv.FormatFloat(v, 'g', -1, 64)
		default:
			out[i] = a
		}
	}
	return out
}

var undefinedColumn = regexp.MustCompile(`^column (.+) does not exist$`)
var ambiguousColumn = regexp.MustCompile(`^column reference "(.+)" is ambiguous$`)

// queryError turns PostgreSQL's refusal of a query into the dialect's
// error: its own SQLSTATE and message, positioned at the query, with
// conncat's wording where conncat has one.
func (s *Store) queryError(ctx context.Context, q *sqlparse.Query, err error) error {
	if ctx.Err() != nil {
		return catalog.CanceledError(ctx)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P0") {
		// The connection, not the query: the caller codes it (08xxx).
		return fmt.Errorf("query: %w", err)
	}
	switch pe.Code {
	case sqlstate.UndefinedColumn:
		if m := undefinedColumn.FindStringSubmatch(pe.Message); m != nil {
			return &catalog.MissingColumnError{Written: strings.ReplaceAll(m[1], `"`, ""), Err: err}
		}
	case sqlstate.AmbiguousColumn:
		if m := ambiguousColumn.FindStringSubmatch(pe.Message); m != nil {
			return catalog.AmbiguousColumnError(q, m[1], err)
		}
	case sqlstate.QueryCanceled:
		return &sqlparse.Error{Code: sqlstate.QueryCanceled, Position: -1, Err: err,
			Message: "canceling statement due to statement timeout"}
	case sqlstate.InsufficientPrivilege:
		return &sqlparse.Error{Code: sqlstate.InsufficientPrivilege, Position: q.Pos(), Err: err,
			Message: "permission denied: " + pe.Message,
			Detail:  "PostgreSQL refused a query that conncat's query gate let through; this is a bug worth reporting with the query.",
			Hint:    "Catalog queries may only read the catalog tables (" + strings.Join(catalog.Tables(), ", ") + ")."}
	}
	return &sqlparse.Error{Code: pe.Code, Position: q.Pos(), Message: pe.Message, Detail: pe.Detail, Hint: pe.Hint, Err: err}
}
