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

// Write implements catalog.Store in as few round trips as the statement's
// reads allow: nothing is sent until the first read (or the commit), and
// then BEGIN, the catalog's advisory lock, the writes held back and the
// read go together as one pipeline (a pgx batch); the read's rows come
// back buffered. Writes after the last read go with the COMMIT. A CREATE
// CONNECTION, which reads once (its name and the ID counter), costs two
// round trips: one fewer than a plain BEGIN, INSERT, COMMIT through
// database/sql. The advisory lock serialises the DDL of this catalog
// across every node, so IF [NOT] EXISTS, dependency checks and CASCADE see
// exactly the committed state; read committed lets each statement after
// the lock (the first read included: it follows the lock in the pipeline)
// see every commit before it.
func (s *Store) Write(ctx context.Context, fn func(catalog.Tx) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	tx := &writeTx{conn: conn, s: s}
	tx.pending = append(tx.pending, queued{`BEGIN`, nil}, queued{`SELECT pg_advisory_xact_lock($1)`, []any{s.lockKey}})
	committed := false
	defer func() {
		if !committed && tx.begun {
			s.rollback(ctx, conn) // also when fn panics
		}
	}()
	if err := fn(tx); err != nil {
		return tx.cause(err)
	}
	if !tx.begun && len(tx.pending) == 2 {
		committed = true // nothing read or written: no transaction to send
		return nil
	}
	if _, err := tx.send(ctx, nil, true); err != nil {
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

// writeTx is a write transaction whose writes are held back and sent in
// one pipeline with the next read or with the COMMIT.
type writeTx struct {
	conn    *sql.Conn
	s       *Store
	pending []queued
	// begun is set once BEGIN was sent: the transaction must then end.
	begun bool
	// err is the first failure of a held-back write: the statement that
	// caused it was sent after the executor moved on, so Write reports it
	// instead of whatever the executor made of the failed pipeline.
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

// QueryContext reads in the transaction: in one pipeline with what is
// held back (BEGIN and the lock, for the first read), its rows buffered;
// with nothing held back, or when the rows would not fit the buffer
// (maxBuffered), straight from the connection as database/sql streams
// them (run again: the lock keeps every writer out, so it reads the same).
func (t *writeTx) QueryContext(ctx context.Context, query string, args ...any) (catalog.Rows, error) {
	q := t.s.bind(query)
	if t.begun && len(t.pending) == 0 {
		return t.stream(ctx, q, args)
	}
	rows, err := t.send(ctx, &queued{q, args}, false)
	switch {
	case errors.Is(err, errTooBig):
		return t.stream(ctx, q, args)
	case err != nil:
		return nil, err
	}
	return rows, nil
}

func (t *writeTx) QueryRowContext(ctx context.Context, query string, args ...any) catalog.Row {
	if t.err != nil {
		return &bufferedRow{err: t.err}
	}
	q := t.s.bind(query)
	if t.begun && len(t.pending) == 0 {
		return t.conn.QueryRowContext(ctx, q, args...)
	}
	rows, err := t.send(ctx, &queued{q, args}, false)
	if errors.Is(err, errTooBig) {
		return t.conn.QueryRowContext(ctx, q, args...)
	}
	return &bufferedRow{rows: rows, err: err}
}

// stream runs a read on the transaction's connection, rows streamed.
func (t *writeTx) stream(ctx context.Context, query string, args []any) (catalog.Rows, error) {
	if t.err != nil {
		return nil, t.err
	}
	rows, err := t.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// cause is the error Write returns: a held-back write's, if one failed
// first.
func (t *writeTx) cause(err error) error {
	if t.err != nil {
		return t.err
	}
	return err
}

// send sends the held-back statements, then read (if any), then COMMIT
// (if commit), as one pipeline: one round trip. It returns read's rows.
func (t *writeTx) send(ctx context.Context, read *queued, commit bool) (*bufferedRows, error) {
	if t.err != nil {
		return nil, t.err
	}
	batch := &pgx.Batch{}
	for _, q := range t.pending {
		batch.Queue(q.sql, q.args...)
	}
	t.pending = t.pending[:0]
	t.begun = true
	var rows *bufferedRows
	var readErr error
	err := t.conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		writes := batch.Len()
		if read != nil {
			batch.Queue(read.sql, read.args...)
		}
		if commit {
			batch.Queue(`COMMIT`)
		}
		results := pc.SendBatch(ctx, batch)
		first := execAll(results, writes)
		if read != nil && first == nil {
			rows, readErr = buffer(results, pc)
		}
		if commit && first == nil && readErr == nil {
			first = checkCommit(results)
		}
		if err := results.Close(); err != nil && first == nil && readErr == nil {
			first = err
		}
		return first
	})
	if err != nil {
		t.err = err
		return nil, err
	}
	return rows, readErr
}

// execAll reads the results of the first n statements of a pipeline and
// returns the first failure.
func execAll(results pgx.BatchResults, n int) error {
	var first error
	for range n {
		if _, err := results.Exec(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// checkCommit reads COMMIT's result: PostgreSQL answers ROLLBACK to a
// COMMIT of a transaction that had failed.
func checkCommit(results pgx.BatchResults) error {
	tag, err := results.Exec()
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return errors.New("postgres: the transaction was rolled back at commit")
	}
	return nil
}
