package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
)

// Write implements catalog.Store in few round trips: BEGIN and the
// catalog's advisory lock go in one message; the statement's writes are
// held back and sent together (a pgx batch, pipelined) just before its
// next read or with the COMMIT. A DDL statement that looks up, allocates
// an ID and writes three rows costs four round trips instead of ten. The
// advisory lock serialises the DDL of this catalog across every node, so
// IF [NOT] EXISTS, dependency checks and CASCADE see exactly the committed
// state; read committed lets each statement after the lock see every
// commit before it.
func (s *Store) Write(ctx context.Context, fn func(catalog.Tx) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	// The lock key is a number of ours, so the simple protocol (which
	// takes several statements but no parameters) is safe here.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`BEGIN; SELECT pg_advisory_xact_lock(%d)`, s.lockKey)); err != nil {
		s.rollback(ctx, conn)
		return fmt.Errorf("begin and lock catalog: %w", err)
	}
	tx := &writeTx{conn: conn, s: s}
	committed := false
	defer func() {
		if !committed {
			s.rollback(ctx, conn) // also when fn panics
		}
	}()
	if err := fn(tx); err != nil {
		return tx.cause(err)
	}
	if err := tx.flush(ctx, true); err != nil {
		return err
	}
	committed = true
	s.wrote.Store(true)
	return nil
}

// rollback ends a transaction that did not commit; a connection whose
// rollback failed is discarded, never reused inside a transaction.
func (s *Store) rollback(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// writeTx is a write transaction whose statements without results are
// sent in batches.
type writeTx struct {
	conn    *sql.Conn
	s       *Store
	pending []queued
	// err is the first failure of a batch: the statement that caused it
	// was sent after the executor moved on, so Write reports it instead
	// of whatever the next read made of the aborted transaction.
	err error
}

type queued struct {
	sql  string
	args []any
}

// heldBack is the result of a statement not yet sent.
type heldBack struct{}

var errHeldBack = errors.New("postgres: a write's result is not known until the transaction's statements are sent")

func (heldBack) LastInsertId() (int64, error) { return 0, errHeldBack }
func (heldBack) RowsAffected() (int64, error) { return 0, errHeldBack }

func (t *writeTx) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if t.err != nil {
		return nil, t.err
	}
	t.pending = append(t.pending, queued{t.s.bind(query), args})
	return heldBack{}, nil
}

func (t *writeTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := t.flush(ctx, false); err != nil {
		return nil, err
	}
	return t.conn.QueryContext(ctx, t.s.bind(query), args...)
}

// QueryRowContext reads after sending what is held back. A failed batch
// cannot be put into a *sql.Row, so the query runs anyway (it fails in the
// aborted transaction) and Write reports the batch's error.
func (t *writeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	_ = t.flush(ctx, false)
	return t.conn.QueryRowContext(ctx, t.s.bind(query), args...)
}

// cause is the error Write returns: the batch's, if one failed first.
func (t *writeTx) cause(err error) error {
	if t.err != nil {
		return t.err
	}
	return err
}

// flush sends the held-back statements, and COMMIT with them when commit
// is set, in one round trip.
func (t *writeTx) flush(ctx context.Context, commit bool) error {
	if t.err != nil {
		return t.err
	}
	if len(t.pending) == 0 && !commit {
		return nil
	}
	batch := &pgx.Batch{}
	for _, q := range t.pending {
		batch.Queue(q.sql, q.args...)
	}
	t.pending = t.pending[:0]
	if commit {
		batch.Queue(`COMMIT`)
	}
	t.err = t.conn.Raw(func(dc any) error {
		results := dc.(*stdlib.Conn).Conn().SendBatch(ctx, batch)
		var first error
		for range batch.Len() {
			tag, err := results.Exec()
			if err != nil && first == nil {
				first = err
			}
			if commit && first == nil && tag.String() == "ROLLBACK" {
				first = errors.New("postgres: the transaction was rolled back at commit")
			}
		}
		if err := results.Close(); err != nil && first == nil {
			first = err
		}
		return first
	})
	return t.err
}
