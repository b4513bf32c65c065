package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/sqlparse"
)

// QueryIn implements catalog.Store: a SELECT inside a transaction block
// runs, as every SELECT, in the replica, here with the rows tx (a write
// transaction of Write, holding the block's uncommitted DDL) wrote laid
// over it in a SQLite transaction that is rolled back after the query.
//
// What tx wrote is what the change log names after the replica's change
// (the triggers write the log inside tx too), and the audit events
// numbered above the replica's. Everything is read through tx,
// never through another connection of the pool: tx holds the catalog's
// lock, and every other writer may be holding a pooled connection while it
// waits for that lock. A replica the log no longer reaches gets every row.
func (s *Store) QueryIn(ctx context.Context, tx catalog.Tx, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
	since := s.replica.Seq()
	var oldest int64
	if err := tx.QueryRowContext(ctx, s.expand(`SELECT coalesce(min(seq), ? + 1) FROM {{schema}}.conncat_changes WHERE seq > ?`), since, since).Scan(&oldest); err != nil {
		return fmt.Errorf("query: read the change log: %w", err)
	}
	whole := oldest > since+1
	var objects []string
	if !whole {
		var err error
		if objects, err = s.changedObjects(ctx, tx, since); err != nil {
			return err
		}
	}
	update, err := s.replica.Begin(ctx, objects)
	if err != nil {
		return err
	}
	defer update.Rollback()
	// Read in the update: a catch-up may have committed since Seq above.
	highest, err := highestKeys(ctx, update.HighestKey)
	if err != nil {
		return err
	}
	for i, t := range catalog.StoredTables {
		if err := s.overlay(ctx, tx, update, t, since, highest[i], whole); err != nil {
			return err
		}
	}
	return update.Query(ctx, q, args, statuses, collect)
}

// changedObjects lists the objects changed after change since, as tx sees
// the log; never nil, which would mean every object to Replica.Begin.
func (s *Store) changedObjects(ctx context.Context, tx catalog.Tx, since int64) ([]string, error) {
	rows, err := tx.QueryContext(ctx, s.expand(`SELECT DISTINCT object_id FROM {{schema}}.conncat_changes WHERE seq > ?`), since)
	if err != nil {
		return nil, fmt.Errorf("query: read the change log: %w", err)
	}
	defer rows.Close()
	objects := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		objects = append(objects, id)
	}
	return objects, rows.Err()
}

// overlay copies table t's rows of the objects changed after since (every
// row when whole) from tx into update.
func (s *Store) overlay(ctx context.Context, tx catalog.Tx, update *sqlite.Update, t catalog.StoredTable, since, highest int64, whole bool) error {
	cols := s.replica.Columns(t.Name)
	query := `SELECT ` + quotedList(cols) + ` FROM ` + t.Name
	var args []any
	if !whole {
		query += ` WHERE ` + s.expand(changedSince(t, "?", "?"))
		if t.IntegerKey {
			args = append(args, highest) // its condition's first parameter
		}
		args = append(args, since)
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("query: read %s: %w", t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		values := make([]any, len(cols))
		pointers := make([]any, len(cols))
		for i := range values {
			pointers[i] = &values[i]
		}
		if err := rows.Scan(pointers...); err != nil {
			return fmt.Errorf("query: read %s: %w", t.Name, err)
		}
		if err := update.Insert(ctx, t.Name, values); err != nil {
			return err
		}
	}
	return rows.Err()
}
