package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	// claim holds the directory's lock while the replica is open.
	claim *os.File
	// columns are each stored table's columns, in the file store's order.
	columns map[string][]string
	// applyMu serialises updates: changes are applied in order.
	applyMu sync.Mutex
	// loaded is set once the first update committed.
	loaded atomic.Bool
	// seq is the change of the source catalog the replica has applied
	// up to; 0 before the first Apply.
	seq atomic.Int64
}

// replicaDirPattern names replica directories under $TMPDIR; lockFile,
// in each, is locked by the process using it (claim).
const (
	replicaDirPattern = "conncat-replica-*"
	lockFile          = "in-use.lock"
)

// NewReplica creates an empty replica, and removes the replicas that
// crashed processes left behind.
func NewReplica(ctx context.Context) (*Replica, error) {
	dir, err := os.MkdirTemp("", replicaDirPattern) // mode 0700
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	r := &Replica{dir: dir, columns: map[string][]string{}}
	if r.claim, err = claimNew(dir); err != nil {
		r.Close()
		return nil, fmt.Errorf("replica: %w", err)
	}
	removeOrphans(filepath.Dir(dir), dir)
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
	// Until the first load, one connection without a journal: the load
	// writes each page once, where WAL would write it twice (the log,
	// then the checkpoint); nobody reads the replica before it is loaded,
	// and a load that fails removes it. Commit turns WAL on after.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `PRAGMA journal_mode = OFF`); err != nil {
		return err
	}
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
// open, so a sync would buy nothing), without foreign keys (the rows of
// one change arrive table by table; the source checked them) and without
// a journal mode (open sets none for the first load, then WAL).
func replicaDSN(path string) string {
	return dsn(path, map[string]string{"_foreign_keys": "off", "_synchronous": "OFF"})
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

// Loaded reports whether a first load has committed: until then Seq
// says nothing.
func (r *Replica) Loaded() bool { return r.loaded.Load() }

// Seq is the change the replica has applied up to.
func (r *Replica) Seq() int64 { return r.seq.Load() }

// HighestKey is the highest key of an IntegerKey table in the replica (0
// when it holds none): its rows after that are new to the replica.
func (r *Replica) HighestKey(ctx context.Context, t catalog.StoredTable) (int64, error) {
	return highestKey(ctx, r.store.db, t)
}

// HighestKey is Replica.HighestKey as the update sees the replica.
func (u *Update) HighestKey(ctx context.Context, t catalog.StoredTable) (int64, error) {
	return highestKey(ctx, u.tx, t)
}

func highestKey(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, t catalog.StoredTable) (int64, error) {
	var key int64
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(`+t.ObjectColumn+`), 0) FROM `+t.Name).Scan(&key); err != nil {
		return 0, fmt.Errorf("replica: highest key of %s: %w", t.Name, err)
	}
	return key, nil
}

// Update is one change being applied: the rows of the objects that
// changed are removed, their rows as the source now holds them inserted,
// and Commit makes it all visible at once, so a SELECT sees the replica
// before or after a change, never between. Rows stream in as they are
// read from the source: a full load of a large catalog is never held in
// memory whole. Only one Update runs at a time.
type Update struct {
	r *Replica
	// tx is a connection inside BEGIN IMMEDIATE, so that Query can run a
	// guarded SELECT on it; done is set once it committed or rolled back.
	tx    *sql.Conn
	done  bool
	stmts map[string]*sql.Stmt
	// table and pending are the rows not yet written, all of one table.
	table   string
	pending []any
}

// Begin starts an update. objects are the IDs whose rows it replaces;
// nil replaces every row (a full load).
func (r *Replica) Begin(ctx context.Context, objects []string) (*Update, error) {
	r.applyMu.Lock()
	conn, err := r.store.db.Conn(ctx)
	if err != nil {
		r.applyMu.Unlock()
		return nil, fmt.Errorf("replica: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		conn.Close()
		r.applyMu.Unlock()
		return nil, fmt.Errorf("replica: %w", err)
	}
	u := &Update{r: r, tx: conn, stmts: map[string]*sql.Stmt{}}
	if err := u.remove(ctx, objects); err != nil {
		u.Rollback()
		return nil, err
	}
	return u, nil
}

// remove deletes the rows of objects (every row for nil).
func (u *Update) remove(ctx context.Context, objects []string) error {
	list, err := json.Marshal(objects)
	if err != nil {
		return err
	}
	for _, t := range catalog.StoredTables {
		if objects == nil {
			_, err = u.tx.ExecContext(ctx, `DELETE FROM `+t.Name)
		} else {
			_, err = u.tx.ExecContext(ctx, `DELETE FROM `+t.Name+` WHERE `+t.ObjectColumn+` IN (SELECT value FROM json_each(?))`, string(list))
		}
		if err != nil {
			return fmt.Errorf("replica: clear %s: %w", t.Name, err)
		}
	}
	return nil
}

// insertBatch is how many rows one INSERT statement carries: one
// statement per row cost ~10 µs of driver and statement overhead each,
// most of a 100,000-connection load.
const insertBatch = 64

// Insert adds a row of table, with the values of Columns(table) in order.
// Rows are written in batches; Commit writes what is left.
func (u *Update) Insert(ctx context.Context, table string, row []any) error {
	if u.table != table {
		if err := u.flush(ctx); err != nil {
			return err
		}
		if u.r.columns[table] == nil {
			return fmt.Errorf("replica: no table %s", table)
		}
		u.table = table
	}
	u.pending = append(u.pending, row...)
	if len(u.pending) >= insertBatch*len(u.r.columns[table]) {
		return u.flush(ctx)
	}
	return nil
}

// flush writes the pending rows in one statement.
func (u *Update) flush(ctx context.Context) error {
	cols := u.r.columns[u.table]
	if len(u.pending) == 0 || len(cols) == 0 {
		return nil
	}
	n := len(u.pending) / len(cols)
	key := fmt.Sprintf("%s/%d", u.table, n)
	stmt, ok := u.stmts[key]
	if !ok {
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = `"` + c + `"`
		}
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		var err error
		stmt, err = u.tx.PrepareContext(ctx, `INSERT INTO `+u.table+` (`+strings.Join(quoted, ", ")+`) VALUES `+
			strings.TrimSuffix(strings.Repeat(one+", ", n), ", "))
		if err != nil {
			return fmt.Errorf("replica: insert into %s: %w", u.table, err)
		}
		u.stmts[key] = stmt
	}
	if _, err := stmt.ExecContext(ctx, u.pending...); err != nil {
		return fmt.Errorf("replica: insert into %s: %w", u.table, err)
	}
	u.pending = u.pending[:0]
	return nil
}

// Commit makes the update visible and records that the replica now holds
// the source's change seq.
func (u *Update) Commit(ctx context.Context, seq int64) error {
	if err := u.flush(ctx); err != nil {
		return err // the caller's Rollback ends the update
	}
	u.closeStmts()
	if _, err := u.tx.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("replica: commit: %w", err) // the caller's Rollback ends the update
	}
	u.end()
	if !u.r.loaded.Load() {
		// Readers may come now: WAL lets them read while changes apply.
		if _, err := u.r.store.db.ExecContext(ctx, `PRAGMA journal_mode = WAL`); err != nil {
			return fmt.Errorf("replica: %w", err)
		}
		u.r.store.db.SetMaxOpenConns(0)
		u.r.loaded.Store(true)
	}
	u.r.seq.Store(seq)
	return nil
}

// Rollback abandons the update; after Commit it does nothing.
func (u *Update) Rollback() {
	if u.done {
		return
	}
	u.closeStmts()
	if err := rollbackIfOpen(context.Background(), u.tx); err != nil {
		_ = u.tx.Raw(func(any) error { return driver.ErrBadConn })
	}
	u.end()
}

// end returns the update's connection and lets the next update begin.
func (u *Update) end() {
	u.done = true
	u.tx.Close()
	u.r.applyMu.Unlock()
}

// Query runs a gated SELECT (see RunQuery) on the replica as this update
// leaves it, before it commits: a transaction block's SELECT sees its own
// changes so. Rows not yet written are written first.
func (u *Update) Query(ctx context.Context, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
	if err := u.flush(ctx); err != nil {
		return err
	}
	return runOn(ctx, u.tx, q, args, statuses, collect)
}

func (u *Update) closeStmts() {
	for _, s := range u.stmts {
		s.Close()
	}
	clear(u.stmts)
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
	if r.claim != nil {
		r.claim.Close()
	}
	return err
}
