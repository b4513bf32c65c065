package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/conncat/conncat/sqlparse"
)

// Result is what one statement returns.
//
// Columns by statement: SHOW CONNECTIONS name, type; SHOW SECRETS name;
// SHOW CREATE CONNECTION name, create_sql; SHOW TRUST POLICY principal,
// external_id, trust_policy; SHOW PERMISSION POLICY permission_policy;
// VALIDATE CONNECTION check, status, message, hint, duration_ms (a row per
// check); SELECT its own; CREATE, ALTER and DROP none. For what to show a
// user about a connection, Describe is typed and opens no secret.
type Result struct {
	// Tag is the command tag: "CREATE CONNECTION", "SELECT 3", ...
	Tag string
	// Columns names the result's columns; nil for statements without rows.
	Columns []string
	// Rows holds values of type string, int64, float64, []byte or nil.
	Rows [][]any
	// Notices are messages that are not errors ("... already exists, skipping").
	Notices []string
	// Changed lists the IDs of connections whose credentials or endpoints
	// this statement changed or removed, so that cached clients can be
	// dropped at once.
	Changed []string
}

// ErrNeedsNetwork is returned for VALIDATE CONNECTION, which the catalog
// cannot run: it knows nothing of the network.
var ErrNeedsNetwork = errors.New("catalog: statement needs the network; run it through conncat.Catalog")

// Exec runs one statement. DDL runs in one transaction: on error nothing
// is changed. args are the values of a SELECT's $1, $2, ...: as many as
// it has parameters. Transaction statements run in a Block (Begin).
func (c *Executor) Exec(ctx context.Context, stmt sqlparse.Statement, args ...any) (*Result, error) {
	if err := sqlparse.CheckArgs(stmt, len(args)); err != nil {
		return nil, err
	}
	res := &Result{}
	var err error
	switch s := stmt.(type) {
	case *sqlparse.Show:
		err = c.show(ctx, s, res)
	case *sqlparse.Query:
		err = c.query(ctx, s, res, args)
	case *sqlparse.ValidateConnection:
		return nil, ErrNeedsNetwork
	case *sqlparse.Transaction:
		return nil, fmt.Errorf("catalog: %s is a session's statement: run it through a Block", s.Kind)
	default:
		err = c.store.Write(ctx, func(tx Tx) error {
			if res, err = c.apply(ctx, tx, stmt); err != nil {
				return err
			}
			return c.store.Publish(ctx, tx, res.Changed)
		})
	}
	if err != nil {
		return nil, c.suggestName(ctx, err)
	}
	return res, nil
}

// IsDDL reports whether stmt changes the catalog.
func IsDDL(stmt sqlparse.Statement) bool {
	switch stmt.(type) {
	case *sqlparse.CreateSecret, *sqlparse.AlterSecret, *sqlparse.CreateConnection, *sqlparse.AlterConnection, *sqlparse.Drop,
		*sqlparse.Grant, *sqlparse.AlterOwner:
		return true
	}
	return false
}

// apply runs one DDL statement's work in tx, the caller's write
// transaction, and returns its result.
func (c *Executor) apply(ctx context.Context, tx Tx, stmt sqlparse.Statement) (*Result, error) {
	if err := c.authorize(ctx, tx, stmt); err != nil {
		return nil, err
	}
	res := &Result{Tag: CommandTag(stmt)}
	var err error
	switch s := stmt.(type) {
	case *sqlparse.CreateSecret:
		err = c.createSecret(ctx, tx, s, res)
	case *sqlparse.AlterSecret:
		err = c.alterSecret(ctx, tx, s, res)
	case *sqlparse.CreateConnection:
		err = c.createConnection(ctx, tx, s, res)
	case *sqlparse.AlterConnection:
		err = c.alterConnection(ctx, tx, s, res)
	case *sqlparse.Drop:
		err = c.drop(ctx, tx, s, res)
	case *sqlparse.Grant:
		err = c.grant(ctx, tx, s, res)
	case *sqlparse.AlterOwner:
		err = c.alterOwner(ctx, tx, s, res)
	default:
		return nil, fmt.Errorf("catalog: unknown statement %T", stmt)
	}
	return res, err
}

// Watch calls changed with the connections that any handle of this
// catalog changed (this one included), soon after each commit, until ctx
// ends; all means changes may have been missed. See Store.Watch.
func (c *Executor) Watch(ctx context.Context, changed func(ids []string, all bool)) {
	c.store.Watch(ctx, changed)
}

// quoteList renders names for messages: "a", "b".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
