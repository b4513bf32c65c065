package catalog

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/conncat/conncat/sqlparse"
)

// CheckResult is one VALIDATE check as mz_connection_validations keeps it.
type CheckResult struct {
	Check, Status, Message string
}

// RecordValidation replaces the stored results of a connection's
// validation with these, so that the table always shows the latest run
// of every check. A connection dropped meanwhile records nothing.
func (c *Catalog) RecordValidation(ctx context.Context, connectionID string, results []CheckResult) error {
	return c.inTx(ctx, func(tx *sql.Tx) error {
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

func (c *Catalog) recordValidation(ctx context.Context, tx *sql.Tx, connectionID string, results []CheckResult) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mz_connection_validations WHERE connection_id = ?`, connectionID); err != nil {
		return fmt.Errorf("record validation: %w", err)
	}
	at := c.now()
	for _, r := range results {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mz_connection_validations (connection_id, validated_at, "check", status, message) VALUES (?, ?, ?, ?, ?)`,
			connectionID, at, r.Check, r.Status, r.Message); err != nil {
			return fmt.Errorf("record validation: %w", err)
		}
	}
	return nil
}

// Validator checks a connection as it would be after a statement, before
// the statement commits. It returns the results to record, and an error
// to refuse the statement.
type Validator func(ctx context.Context, r *Resolved) ([]CheckResult, error)

// ExecValidated runs CREATE CONNECTION or ALTER CONNECTION ... WITH
// (VALIDATE = true): the change is applied in a transaction, validate sees
// the connection as changed, and the transaction commits (with the
// results recorded) only if validate returns nil. Otherwise the catalog
// is left exactly as it was.
//
// The catalog's write lock is held while validate runs, so other DDL waits
// for the network; readers (SELECT, Resolve) do not.
func (c *Catalog) ExecValidated(ctx context.Context, stmt sqlparse.Statement, validate Validator) (*Result, error) {
	res := &Result{}
	var name string
	var apply func(tx *sql.Tx) error
	// skipIf says whether IF [NOT] EXISTS will make the statement a no-op,
	// given whether the connection exists: then there is nothing to check.
	var skipIf func(exists bool) bool
	switch s := stmt.(type) {
	case *sqlparse.CreateConnection:
		res.Tag, name = "CREATE CONNECTION", s.Name.Value
		apply = func(tx *sql.Tx) error { return c.createConnection(ctx, tx, s, res) }
		skipIf = func(exists bool) bool { return s.IfNotExists && exists }
	case *sqlparse.AlterConnection:
		res.Tag, name = "ALTER CONNECTION", s.Name.Value
		apply = func(tx *sql.Tx) error { return c.alterConnection(ctx, tx, s, res) }
		skipIf = func(exists bool) bool { return s.IfExists && !exists }
	default:
		return nil, fmt.Errorf("catalog: %T cannot be validated before commit", stmt)
	}
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		existing, err := lookupConnection(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := apply(tx); err != nil {
			return err
		}
		if skipIf(existing != nil) {
			return nil
		}
		r, err := c.resolve(ctx, tx, name)
		if err != nil {
			return err
		}
		results, verr := validate(ctx, r)
		if verr != nil {
			return verr
		}
		return c.recordValidation(ctx, tx, r.ID, results)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
