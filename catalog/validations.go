package catalog

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// CheckResult is one VALIDATE check as mz_connection_validations keeps it.
type CheckResult struct {
	Check, Status, Message string
}

// RecordValidation replaces the stored results of a connection's
// validation with these, so that the table always shows the latest run
// of every check. A connection dropped meanwhile records nothing.
func (c *Executor) RecordValidation(ctx context.Context, connectionID string, results []CheckResult) error {
	return c.store.Write(ctx, func(tx Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mz_connections WHERE id = ?`, connectionID).Scan(&one); err != nil {
			return fmt.Errorf("record validation: %w", err)
		}
		if one == 0 {
			return nil
		}
		return c.recordValidation(ctx, tx, connectionID, results)
	})
}

func (c *Executor) recordValidation(ctx context.Context, tx Tx, connectionID string, results []CheckResult) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mz_connection_validations WHERE connection_id = ?`, connectionID); err != nil {
		return fmt.Errorf("record validation: %w", err)
	}
	if err := c.auditValidation(ctx, tx, connectionID, results); err != nil {
		return err
	}
	at := c.now(ctx)
	for _, r := range results {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mz_connection_validations (connection_id, validated_at, "check", status, message) VALUES (?, ?, ?, ?, ?)`,
			connectionID, at, r.Check, r.Status, r.Message); err != nil {
			return fmt.Errorf("record validation: %w", err)
		}
	}
	return nil
}

// auditValidation records who validated the connection and each check's
// status ("credentials": "PASS", ...), never a message (it names AWS's
// answer, which an audit reader need not see).
func (c *Executor) auditValidation(ctx context.Context, tx Tx, connectionID string, results []CheckResult) error {
	name := ""
	if err := tx.QueryRowContext(ctx, `SELECT name FROM mz_connections WHERE id = ?`, connectionID).Scan(&name); err != nil {
		return fmt.Errorf("record validation: %w", err)
	}
	details := map[string]string{"id": connectionID, "name": name}
	for _, r := range results {
		details[r.Check] = r.Status
	}
	return c.audit(ctx, tx, "validate", sqlparse.ObjectConnection, details)
}

// Validator checks a connection as it would be after a statement, before
// the statement commits. It returns the results to record, and an error
// to refuse the statement.
type Validator func(ctx context.Context, r *Resolved) ([]CheckResult, error)

// ExecValidated runs CREATE CONNECTION or ALTER CONNECTION ... WITH
// (VALIDATE = true) without holding the catalog's write lock while the
// network is checked:
//
//  1. a dry run applies the statement in a transaction, reads the
//     connection as it would be, and rolls back;
//  2. validate checks that connection, with no transaction open;
//  3. the statement is applied again, and commits (with the results
//     recorded) only if the connection is exactly what was validated.
//
// If another statement changed what the connection would be in between
// (its secret altered, an object ID taken), the whole is tried once more,
// then refused with 40001. A failed validation leaves the catalog exactly
// as it was.
func (c *Executor) ExecValidated(ctx context.Context, stmt sqlparse.Statement, validate Validator) (*Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := c.execValidatedOnce(ctx, stmt, validate)
		if !errors.Is(err, errChangedWhileValidating) {
			return res, c.suggestName(ctx, err)
		}
		if attempt == 2 {
			return nil, errorf(sqlstate.SerializationFailure, stmt.Pos(), "the connection changed while it was being validated; nothing was applied").
				WithHint("Run the statement again.")
		}
	}
}

var (
	errChangedWhileValidating = errors.New("the connection changed while it was validated")
	errDryRun                 = errors.New("dry run: roll back")
)

// pinnedExternalID carries the external ID the dry run generated into the
// run that commits, so that the connection committed is the one checked.
type pinnedExternalID struct{}

func (c *Executor) execValidatedOnce(ctx context.Context, stmt sqlparse.Statement, validate Validator) (*Result, error) {
	// 1. The dry run: the connection as stmt would leave it.
	var planned *Resolved
	var skip bool
	err := c.store.Write(ctx, func(tx Tx) (err error) {
		if _, planned, skip, err = c.applyValidated(ctx, tx, stmt); err != nil {
			return err
		}
		return errDryRun
	})
	switch {
	case !errors.Is(err, errDryRun):
		return nil, err
	case skip:
		return c.Exec(ctx, stmt) // IF [NOT] EXISTS makes it a no-op
	}
	// 2. Validate, with no transaction open.
	results, err := validate(ctx, planned)
	if err != nil {
		return nil, err
	}
	// 3. Apply again; commit only what was validated.
	ctx = context.WithValue(ctx, pinnedExternalID{}, planned.AWS.ExternalID)
	var res *Result
	err = c.store.Write(ctx, func(tx Tx) error {
		var r *Resolved
		var err error
		if res, r, skip, err = c.applyValidated(ctx, tx, stmt); err != nil || skip {
			return err
		}
		if !reflect.DeepEqual(r, planned) {
			return errChangedWhileValidating
		}
		if err := c.recordValidation(ctx, tx, r.ID, results); err != nil {
			return err
		}
		return c.store.Publish(ctx, tx, res.Changed)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// applyValidated applies CREATE or ALTER CONNECTION in tx and returns its
// result and the connection as it leaves it, or skip when IF [NOT] EXISTS
// made it a no-op.
func (c *Executor) applyValidated(ctx context.Context, tx Tx, stmt sqlparse.Statement) (res *Result, r *Resolved, skip bool, err error) {
	if err := c.authorize(ctx, tx, stmt); err != nil {
		return nil, nil, false, err
	}
	res = &Result{}
	var name string
	var apply func() error
	switch s := stmt.(type) {
	case *sqlparse.CreateConnection:
		res.Tag, name = "CREATE CONNECTION", s.Name.Value
		apply = func() error { return c.createConnection(ctx, tx, s, res) }
		skip = s.IfNotExists
	case *sqlparse.AlterConnection:
		res.Tag, name = "ALTER CONNECTION", s.Name.Value
		apply = func() error { return c.alterConnection(ctx, tx, s, res) }
		skip = s.IfExists
	default:
		return nil, nil, false, fmt.Errorf("catalog: %T cannot be validated before commit", stmt)
	}
	existing, err := lookupConnection(ctx, tx, name)
	if err != nil {
		return nil, nil, false, err
	}
	if err := apply(); err != nil {
		return nil, nil, false, err
	}
	// IF NOT EXISTS skips an existing connection, IF EXISTS a missing one.
	_, creating := stmt.(*sqlparse.CreateConnection)
	if skip && (existing != nil) == creating {
		return res, nil, true, nil
	}
	r, err = c.resolveIn(ctx, tx, false, name)
	return res, r, false, err
}
