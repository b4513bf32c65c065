package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/sqlite"
)

// A node answers SELECT, SHOW and Describe from its replica of the stored
// tables (sqlite.Replica), so that every store runs SELECT in SQLite.
// The replica follows the change log (migration 2): every transaction
// that writes a stored table takes the next change number, in commit
// order with no gaps, and records the IDs of the objects it wrote. A
// replica at change n catches up by reading, in one snapshot, the changes
// after n and the current rows of the objects they name, and applying
// them in one SQLite transaction.

// Open implements catalog.Store: migrate, then load this node's replica.
func (s *Store) Open(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	r, err := sqlite.NewReplica(ctx)
	if err != nil {
		return err
	}
	s.replica = r
	if err := s.catchUp(ctx, 0); err != nil {
		r.Close()
		s.replica = nil
		return fmt.Errorf("load replica: %w", err)
	}
	return nil
}

// Close implements catalog.Store: it removes the replica.
func (s *Store) Close() error {
	if s.replica == nil {
		return nil
	}
	return s.replica.Close()
}

// fresh makes the replica hold every change committed before it was
// called: it asks for the latest change number (one round trip) and
// catches up if the replica is behind, within ctx. With StaleReads it asks
// nothing, unless this handle wrote since the replica last caught up.
func (s *Store) fresh(ctx context.Context) error {
	if s.StaleReads {
		if s.wrote.Load() {
			_ = s.catchUp(ctx, 0) // still stale-tolerant: a failure reads what is there
		}
		return nil
	}
	var latest int64
	if err := s.db.QueryRowContext(ctx, s.expand(`SELECT coalesce(max(seq), 0) FROM {{schema}}.conncat_changes`)).Scan(&latest); err != nil {
		return err
	}
	if s.replica.Seq() >= latest {
		return nil
	}
	return s.catchUp(ctx, latest)
}

// catchUp brings the replica to the latest change, unless it already holds
// change target (0: always look). One goroutine fetches at a time; the
// others wait for it, within their contexts, and usually find their
// change applied.
func (s *Store) catchUp(ctx context.Context, target int64) error {
	select {
	case s.catchingUp <- struct{}{}:
		defer func() { <-s.catchingUp }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if target > 0 && s.replica.Seq() >= target {
		return nil
	}
	wrote := s.wrote.Swap(false)
	change, err := s.fetch(ctx, s.replica.Seq())
	if err == nil {
		err = s.replica.Apply(ctx, change)
	}
	if err != nil && wrote {
		s.wrote.Store(true)
	}
	return err
}

// fetch reads the changes after since and the rows of the objects they
// name, in one snapshot and one round trip; everything when since is 0,
// or when the log no longer reaches back to since (pruned, or a catalog
// made anew).
func (s *Store) fetch(ctx context.Context, since int64) (sqlite.Change, error) {
	var change sqlite.Change
	err := s.onConn(ctx, func(conn *pgx.Conn) error {
		var oldest int64
		var err error
		if since > 0 {
			change, oldest, err = s.fetchBatch(ctx, conn, since)
			if err != nil || (oldest <= since+1 && change.Seq >= since) {
				return err
			}
		}
		change, _, err = s.fetchBatch(ctx, conn, 0)
		return err
	})
	return change, err
}

// onConn runs fn on a pgx connection of the pool.
func (s *Store) onConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// fetchBatch sends one repeatable-read transaction: the log's newest and
// oldest change, the objects changed after since, and their rows (every
// row when since is 0). oldest is the log's oldest change after since, or
// since+1 when there is none.
func (s *Store) fetchBatch(ctx context.Context, conn *pgx.Conn, since int64) (c sqlite.Change, oldest int64, err error) {
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	batch.Queue(s.expand(`SELECT (SELECT coalesce(max(seq), 0) FROM {{schema}}.conncat_changes),
		(SELECT coalesce(min(seq), $1::bigint + 1) FROM {{schema}}.conncat_changes WHERE seq > $1::bigint)`), since)
	if since > 0 {
		batch.Queue(s.expand(`SELECT DISTINCT object_id FROM {{schema}}.conncat_changes WHERE seq > $1`), since)
	}
	for _, t := range catalog.StoredTables {
		q := `SELECT ` + quotedList(s.replica.Columns(t.Name)) + ` FROM {{schema}}.` + t.Name
		if since > 0 {
			batch.Queue(s.expand(q+` WHERE `+t.ObjectColumn+` IN (SELECT object_id FROM {{schema}}.conncat_changes WHERE seq > $1)`), since)
		} else {
			batch.Queue(s.expand(q))
		}
	}
	batch.Queue(`COMMIT`)
	results := conn.SendBatch(ctx, batch)
	defer results.Close()
	if _, err := results.Exec(); err != nil {
		return c, 0, err
	}
	if err := results.QueryRow().Scan(&c.Seq, &oldest); err != nil {
		return c, 0, err
	}
	if since > 0 {
		if c.Objects, err = column(results); err != nil {
			return c, 0, err
		}
		if c.Objects == nil {
			c.Objects = []string{}
		}
	}
	c.Rows = map[string][][]any{}
	for _, t := range catalog.StoredTables {
		if c.Rows[t.Name], err = values(results); err != nil {
			return c, 0, err
		}
	}
	if _, err := results.Exec(); err != nil {
		return c, 0, err
	}
	return c, oldest, results.Close()
}

// column reads a result of one text column.
func column(results pgx.BatchResults) ([]string, error) {
	rows, _ := results.Query()
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// values reads a result's rows as the values pgx decodes (string, int64
// or nil for the stored tables' types), which SQLite stores as they are.
func values(results pgx.BatchResults) ([][]any, error) {
	rows, _ := results.Query()
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) ([]any, error) { return row.Values() })
}

func quotedList(cols []string) string {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	return strings.Join(quoted, ", ")
}
