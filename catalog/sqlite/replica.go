package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/sqlparse"
)

// Replica is a node's in-process copy of the rows of a catalog kept in
// another database (PostgreSQL), so that SELECT runs in one engine,
// SQLite, on every store: the same tables and columns as a catalog file
// (its schema is made by the file store's own migrations), and never a
// sealed value (only catalog.StoredTables are copied; the table of sealed
// values stays empty).
//
// It lives in a private temporary file in WAL mode rather than in memory:
// only WAL lets changes be applied while long SELECTs read (an in-memory
// database shares one cache whose table locks would make one tenant's
// minute-long query stall every other SELECT's freshness on the node).
// Nothing in it is durable or secret; it is rebuilt at every open and
// removed at Close.
type Replica struct {
	store *Store
	dir   string
	// columns are each stored table's columns, in the file store's order.
	columns map[string][]string
	// applyMu serialises Apply: changes are applied in order.
	applyMu sync.Mutex
	// seq is the change of the source catalog the replica has applied
	// up to; 0 before the first Apply.
	seq atomic.Int64
}

// NewReplica creates an empty replica.
func NewReplica(ctx context.Context) (*Replica, error) {
	dir, err := os.MkdirTemp("", "conncat-replica-*") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	r := &Replica{dir: dir, columns: map[string][]string{}}
	if err := r.open(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("replica: %w", err)
	}
	return r, nil
}

func (r *Replica) open(ctx context.Context) error {
	db, err := sql.Open("sqlite3", replicaDSN(filepath.Join(r.dir, "replica.db")))
	if err != nil {
		return err
	}
	r.store = &Store{db: db}
	if err := r.store.Open(ctx); err != nil {
		return err
	}
	for _, t := range catalog.StoredTables {
		cols, err := tableColumns(ctx, db, t.Name)
		if err != nil {
			return err
		}
		r.columns[t.Name] = cols
	}
	return nil
}

// replicaDSN is DSN without durability (the replica is rebuilt at every
// open, so a sync would buy nothing) and without foreign keys (the rows
// of one change arrive table by table; the source checked them).
func replicaDSN(path string) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "off")
	q.Set("_txlock", "immediate")
	q.Set("_synchronous", "OFF")
	q.Set("_stmt_cache_size", strconv.Itoa(StatementCacheSize))
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// tableColumns lists a table's columns in order.
func tableColumns(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 && rows.Err() == nil {
		return nil, fmt.Errorf("no table %s", table)
	}
	return cols, rows.Err()
}

// Columns lists a stored table's columns, in the order Apply takes a
// row's values.
func (r *Replica) Columns(table string) []string { return r.columns[table] }

// Seq is the change the replica has applied up to.
func (r *Replica) Seq() int64 { return r.seq.Load() }

// Change is what Apply writes: the rows of the objects that changed, as
// the source holds them after change Seq.
type Change struct {
	// Seq is the source's change the rows are current to.
	Seq int64
	// Objects are the IDs whose rows are replaced; nil replaces every
	// row (a full load).
	Objects []string
	// Rows holds, by table, the rows of Objects (of every object when
	// Objects is nil), each with the values of Columns(table) in order.
	Rows map[string][][]any
}

// Apply replaces the rows of c.Objects with c.Rows in one transaction, so
// a SELECT sees the replica before or after the change, never between. A
// change not newer than what the replica holds is ignored.
func (r *Replica) Apply(ctx context.Context, c Change) error {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if c.Objects != nil && c.Seq <= r.seq.Load() {
		return nil
	}
	err := withTx(ctx, r.store.db, func(tx *sql.Tx) error {
		if err := r.remove(ctx, tx, c.Objects); err != nil {
			return err
		}
		for _, t := range catalog.StoredTables {
			if err := r.insert(ctx, tx, t.Name, c.Rows[t.Name]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	r.seq.Store(c.Seq)
	return nil
}

// remove deletes the rows of objects (every row for nil).
func (r *Replica) remove(ctx context.Context, tx *sql.Tx, objects []string) error {
	var list []byte
	if objects != nil {
		var err error
		if list, err = json.Marshal(objects); err != nil {
			return err
		}
	}
	for _, t := range catalog.StoredTables {
		var err error
		if objects == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM `+t.Name)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM `+t.Name+` WHERE `+t.ObjectColumn+` IN (SELECT value FROM json_each(?))`, string(list))
		}
		if err != nil {
			return fmt.Errorf("clear %s: %w", t.Name, err)
		}
	}
	return nil
}

func (r *Replica) insert(ctx context.Context, tx *sql.Tx, table string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	cols := r.columns[table]
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (`+strings.Join(quoted, ", ")+`) VALUES (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")+`)`)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	defer stmt.Close()
	for _, row := range rows {
		if _, err := stmt.ExecContext(ctx, row...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}

// Query runs a gated SELECT on the replica (see RunQuery).
func (r *Replica) Query(ctx context.Context, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
	return RunQuery(ctx, r.store.db, q, args, statuses, collect)
}

// Read runs fn in one snapshot of the replica.
func (r *Replica) Read(ctx context.Context, fn func(catalog.Tx) error) error {
	return r.store.Read(ctx, fn)
}

// Close removes the replica.
func (r *Replica) Close() error {
	var err error
	if r.store != nil {
		err = r.store.db.Close()
	}
	if rmErr := os.RemoveAll(r.dir); err == nil {
		err = rmErr
	}
	return err
}
