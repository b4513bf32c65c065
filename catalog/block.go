package catalog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// MaxBlockStatements bounds the DDL statements one transaction block
// holds: each statement replays those before it (see Block), so a block's
// cost grows with the square of its length.
const MaxBlockStatements = 200

// MaxBlockBytes bounds the text of the DDL statements a block holds: a
// session keeps them until COMMIT, and a server has many sessions.
const MaxBlockBytes = 1 << 20

// MaxBlockQueryTime bounds a SELECT after a block's DDL: it runs in the
// block's trial, which holds the catalog's write lock, so it may not hold
// that lock for a whole statement budget.
const MaxBlockQueryTime = 2 * time.Second

// errBlockQueryTime is the cause of a context MaxBlockQueryTime ended.
var errBlockQueryTime = errors.New("a SELECT in a transaction block ran out of time")

// Block is a transaction block (BEGIN ... COMMIT): DDL statements that
// commit together or not at all. Use it from one goroutine.
//
// A block holds no lock between its statements, so a tenant that leaves
// one open never stalls another's DDL (the catalog's write lock is the
// catalog's, not a row's). Each DDL statement is tried when it comes: the
// block's earlier statements are replayed, then it runs, in one write
// transaction that is rolled back, so its error (or its notices) come at
// once. COMMIT replays them all in one write transaction that commits and
// publishes what changed, at once. A statement draws its timestamps and
// external IDs once (its tape), so every replay writes the same values
// and SHOW TRUST POLICY inside the block shows the external ID that
// commits. If a commit of another handle in between makes an earlier
// statement fail, nothing is applied and the statement or COMMIT fails
// with 40001, as in a serializable database: run the block again.
//
// SELECT, SHOW and Describe inside a block see its statements. A SELECT
// after the block's DDL runs in the block's trial, so it holds the
// catalog's write lock while it runs, for at most MaxBlockQueryTime.
type Block struct {
	c        *Executor
	readOnly bool
	steps    []blockStep
	bytes    int
	// failed is set by a statement's error: every statement but ROLLBACK
	// [TO SAVEPOINT] is refused with 25P02 until then.
	failed     bool
	savepoints []savepoint
}

// blockStep is a DDL statement of a block, or a VALIDATE's results to
// record when the block commits.
type blockStep struct {
	stmt sqlparse.Statement
	tape *tape
	// validated is set for a VALIDATE inside the block.
	validated *blockValidation
}

// blockValidation is what a VALIDATE inside a block checked: the
// connection as the block left it then, and the results.
type blockValidation struct {
	resolved *Resolved
	results  []CheckResult
}

// savepoint is a SAVEPOINT's name and how many steps the block had then.
type savepoint struct {
	name  string
	steps int
}

// Begin starts a transaction block; readOnly refuses DDL in it
// (BEGIN READ ONLY).
func (c *Executor) Begin(readOnly bool) *Block { return &Block{c: c, readOnly: readOnly} }

// Failed reports whether a statement of the block failed: it can only be
// rolled back (to a savepoint, or whole).
func (b *Block) Failed() bool { return b.failed }

// Pending reports whether the block holds DDL that COMMIT would apply.
func (b *Block) Pending() bool { return len(b.steps) > 0 }

// Exec runs one statement inside the block: DDL is tried and kept for
// COMMIT; SHOW sees the block's DDL; a SELECT before the block's first DDL
// reads the committed catalog. Any error puts the block in the failed
// state.
func (b *Block) Exec(ctx context.Context, stmt sqlparse.Statement, args ...any) (res *Result, err error) {
	if err := b.usable(stmt); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.failed = true
			err = b.c.suggestName(ctx, err)
		}
	}()
	switch s := stmt.(type) {
	case *sqlparse.Show:
		if !b.Pending() {
			return b.c.Exec(ctx, stmt)
		}
		res = &Result{Tag: "SHOW"}
		return res, b.trial(ctx, func(tx Tx) error { return b.c.showIn(ctx, tx, s, res) })
	case *sqlparse.Query:
		if !b.Pending() {
			return b.c.Exec(ctx, stmt, args...)
		}
		if err := sqlparse.CheckArgs(stmt, len(args)); err != nil {
			return nil, err
		}
		return b.query(ctx, s, args)
	}
	if !IsDDL(stmt) {
		return b.c.Exec(ctx, stmt, args...)
	}
	return b.execDDL(ctx, stmt)
}

// query runs a SELECT after the block's DDL, in a trial, within
// MaxBlockQueryTime.
func (b *Block) query(ctx context.Context, q *sqlparse.Query, args []any) (*Result, error) {
	qctx, cancel := context.WithTimeoutCause(ctx, MaxBlockQueryTime, errBlockQueryTime)
	defer cancel()
	res := &Result{}
	err := b.trial(qctx, func(tx Tx) error { return b.c.queryIn(qctx, tx, q, res, args) })
	if err != nil && ctx.Err() == nil && context.Cause(qctx) == errBlockQueryTime {
		return nil, errorf(sqlstate.QueryCanceled, q.Pos(), "canceling statement: a SELECT after DDL in a transaction block may run for at most %s", MaxBlockQueryTime).
			WithHint("It holds the catalog's write lock while it runs. COMMIT first to run a longer query, which takes no lock.")
	}
	return res, err
}

// usable refuses a statement the block cannot take in its state.
func (b *Block) usable(stmt sqlparse.Statement) error {
	if b.failed {
		return errorf(sqlstate.InFailedTransaction, stmt.Pos(), "current transaction is aborted, commands ignored until end of transaction block").
			WithHint("ROLLBACK (or ROLLBACK TO SAVEPOINT) to go on.")
	}
	if !IsDDL(stmt) {
		return nil
	}
	if b.readOnly {
		return errorf(sqlstate.ReadOnlyTransaction, stmt.Pos(), "cannot execute %s in a read-only transaction", CommandTag(stmt))
	}
	if ValidatesFirst(stmt) {
		return errorf(sqlstate.ActiveTransaction, stmt.Pos(), "%s ... WITH (VALIDATE) cannot run inside a transaction block", CommandTag(stmt)).
			WithHint("Its checks call AWS before it commits: run it outside the block, or COMMIT and then VALIDATE CONNECTION.")
	}
	if len(b.steps) >= MaxBlockStatements {
		return errorf(sqlstate.ProgramLimitExceeded, stmt.Pos(), "transaction block holds more than %d statements", MaxBlockStatements).
			WithHint("COMMIT in smaller blocks.")
	}
	return nil
}

// execDDL tries a DDL statement after the block's others and keeps it.
func (b *Block) execDDL(ctx context.Context, stmt sqlparse.Statement) (*Result, error) {
	size := len(stmt.UnredactedSQL())
	if b.bytes+size > MaxBlockBytes {
		return nil, errorf(sqlstate.ProgramLimitExceeded, stmt.Pos(), "transaction block holds more than %d MiB of statements", MaxBlockBytes>>20).
			WithHint("COMMIT in smaller blocks.")
	}
	step := blockStep{stmt: stmt, tape: &tape{}}
	var res *Result
	err := b.trial(ctx, func(tx Tx) (err error) {
		res, err = b.c.apply(withTape(ctx, step.tape), tx, stmt)
		return err
	})
	if err != nil {
		return nil, err
	}
	b.steps = append(b.steps, step)
	b.bytes += size
	return res, nil
}

// Describe is Catalog.Describe as the block sees the catalog.
func (b *Block) Describe(ctx context.Context, name string) (d *Description, err error) {
	if !b.Pending() {
		return b.c.Describe(ctx, name)
	}
	err = b.trial(ctx, func(tx Tx) (err error) {
		d, err = b.c.describe(ctx, tx, name)
		return err
	})
	return d, err
}

// Resolve is Catalog.Resolve as the block sees the catalog, for VALIDATE
// inside a block.
func (b *Block) Resolve(ctx context.Context, name string) (r *Resolved, err error) {
	if !b.Pending() {
		return b.c.Resolve(ctx, name)
	}
	err = b.trial(ctx, func(tx Tx) (err error) {
		r, err = b.c.resolveIn(ctx, tx, false, name)
		return err
	})
	return r, err
}

// RecordValidation keeps a VALIDATE's results of r (from Resolve) for
// COMMIT, which records them only if the connection is still what was
// validated. Outside pending DDL they are recorded at once, as VALIDATE
// outside a block does: they are observations of AWS, not changes.
func (b *Block) RecordValidation(ctx context.Context, r *Resolved, results []CheckResult) error {
	if !b.Pending() {
		return b.c.RecordValidation(ctx, r.ID, results)
	}
	b.steps = append(b.steps, blockStep{validated: &blockValidation{resolved: r, results: results}, tape: &tape{}})
	return nil
}

// Fail puts the block in the failed state: the caller's statement failed
// outside the block's own calls (a VALIDATE whose checks failed).
func (b *Block) Fail() { b.failed = true }

// trial replays the block and runs fn in one write transaction that is
// then rolled back.
func (b *Block) trial(ctx context.Context, fn func(Tx) error) error {
	err := b.c.store.Write(ctx, func(tx Tx) error {
		if _, err := b.replay(ctx, tx); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// replay applies the block's steps in tx and returns the IDs of the
// connections they changed, each once.
func (b *Block) replay(ctx context.Context, tx Tx) ([]string, error) {
	var changed []string
	for _, step := range b.steps {
		step.tape.rewind()
		ids, err := b.c.replayStep(withTape(ctx, step.tape), tx, step)
		if err != nil {
			return nil, conflictError(ctx, step, err)
		}
		for _, id := range ids {
			if !slices.Contains(changed, id) {
				changed = append(changed, id)
			}
		}
	}
	return changed, nil
}

func (c *Executor) replayStep(ctx context.Context, tx Tx, step blockStep) ([]string, error) {
	if v := step.validated; v != nil {
		return nil, c.replayValidation(ctx, tx, v)
	}
	res, err := c.apply(ctx, tx, step.stmt)
	if err != nil {
		return nil, err
	}
	return res.Changed, nil
}

// replayValidation records a VALIDATE's results if the connection is
// still what was validated (its ID may differ: IDs are taken at commit).
func (c *Executor) replayValidation(ctx context.Context, tx Tx, v *blockValidation) error {
	now, err := c.resolveIn(ctx, tx, false, v.resolved.Name)
	if err != nil {
		return err
	}
	same := *now
	same.ID = v.resolved.ID
	if !reflect.DeepEqual(&same, v.resolved) {
		return errorf(sqlstate.SerializationFailure, -1, "connection %q changed after it was validated in this block", v.resolved.Name)
	}
	return c.recordValidation(ctx, tx, now.ID, v.results)
}

// conflictError is the error of a replayed step that failed: the catalog
// changed under the block since the step first ran. Errors of the
// statement's budget or the database pass as they are.
func conflictError(ctx context.Context, step blockStep, err error) error {
	var e *sqlerror.Error
	if ctx.Err() != nil || !errors.As(err, &e) || e.Code == sqlstate.QueryCanceled || e.Code == sqlstate.SerializationFailure {
		return err
	}
	what := "a VALIDATE"
	if step.stmt != nil {
		what = step.stmt.String()
	}
	return &sqlerror.Error{Code: sqlstate.SerializationFailure, Position: -1, Err: err,
		Message: "could not serialize the transaction block: an earlier statement of it no longer applies after a change another session committed",
		Detail:  fmt.Sprintf("%s: %s", what, e.Message),
		Hint:    "ROLLBACK and run the block again."}
}

// Commit applies the block's DDL in one transaction. A block that failed
// is rolled back instead, and its result's tag says ROLLBACK, as in
// PostgreSQL. The result's Changed lists the connections to invalidate.
func (b *Block) Commit(ctx context.Context) (*Result, error) {
	if b.failed {
		b.discard()
		return &Result{Tag: "ROLLBACK"}, nil
	}
	res := &Result{Tag: "COMMIT"}
	if !b.Pending() {
		return res, nil
	}
	err := b.c.store.Write(ctx, func(tx Tx) (err error) {
		if res.Changed, err = b.replay(ctx, tx); err != nil {
			return err
		}
		return b.c.store.Publish(ctx, tx, res.Changed)
	})
	b.discard()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Statements are the DDL statements the block holds, in order.
func (b *Block) Statements() []sqlparse.Statement {
	var out []sqlparse.Statement
	for _, step := range b.steps {
		if step.stmt != nil {
			out = append(out, step.stmt)
		}
	}
	return out
}

// Rollback forgets the block's statements; nothing was applied.
func (b *Block) Rollback() { b.discard() }

func (b *Block) discard() {
	b.steps, b.savepoints, b.bytes, b.failed = nil, nil, 0, false
}

// Savepoint marks the block's current state under name.
func (b *Block) Savepoint(s *sqlparse.Transaction) error {
	if err := b.usable(s); err != nil {
		return err
	}
	b.savepoints = append(b.savepoints, savepoint{name: s.Savepoint.Value, steps: len(b.steps)})
	return nil
}

// Release forgets savepoint name and those made after it.
func (b *Block) Release(s *sqlparse.Transaction) error {
	if err := b.usable(s); err != nil {
		return err
	}
	i, err := b.findSavepoint(s)
	if err != nil {
		return err
	}
	b.savepoints = b.savepoints[:i]
	return nil
}

// RollbackTo undoes what the block did since savepoint name, which stays;
// it also ends the failed state.
func (b *Block) RollbackTo(s *sqlparse.Transaction) error {
	i, err := b.findSavepoint(s)
	if err != nil {
		return err
	}
	sp := b.savepoints[i]
	b.savepoints = b.savepoints[:i+1]
	b.steps = b.steps[:sp.steps]
	b.bytes = 0
	for _, step := range b.steps {
		if step.stmt != nil {
			b.bytes += len(step.stmt.UnredactedSQL())
		}
	}
	b.failed = false
	return nil
}

// findSavepoint finds the latest savepoint of s's name; not finding it
// fails the block, as every error does.
func (b *Block) findSavepoint(s *sqlparse.Transaction) (int, error) {
	for i := len(b.savepoints) - 1; i >= 0; i-- {
		if b.savepoints[i].name == s.Savepoint.Value {
			return i, nil
		}
	}
	b.failed = true
	return 0, errorf(sqlstate.InvalidSavepoint, s.Savepoint.Pos, "savepoint %q does not exist", s.Savepoint.Value)
}

// CommandTag is a DDL statement's command tag: "CREATE SECRET".
func CommandTag(stmt sqlparse.Statement) string {
	switch s := stmt.(type) {
	case *sqlparse.CreateSecret:
		return "CREATE SECRET"
	case *sqlparse.AlterSecret:
		return "ALTER SECRET"
	case *sqlparse.CreateConnection:
		return "CREATE CONNECTION"
	case *sqlparse.AlterConnection:
		return "ALTER CONNECTION"
	case *sqlparse.Drop:
		return "DROP " + string(s.Kind)
	case *sqlparse.Grant:
		if s.Revoke {
			return "REVOKE"
		}
		return "GRANT"
	case *sqlparse.AlterOwner:
		return "ALTER " + string(s.Kind)
	}
	return fmt.Sprintf("%T", stmt)
}

// ValidatesFirst reports whether stmt asks WITH (VALIDATE [= true]).
func ValidatesFirst(stmt sqlparse.Statement) bool {
	var v *bool
	switch s := stmt.(type) {
	case *sqlparse.CreateConnection:
		v = s.Validate
	case *sqlparse.AlterConnection:
		v = s.Validate
	}
	return v != nil && *v
}
