package catalog

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/conncat/conncat/sqlparse"
)

// Column is one column a statement returns, with its type.
type Column struct {
	Name string
	Type sqlparse.Type
}

// StatementDescription is what a statement takes and returns, learnt
// without running it: what a PostgreSQL server answers to Describe.
type StatementDescription struct {
	// Params is the type each $n takes, $1 first.
	Params []sqlparse.Type
	// Columns is nil for a statement that returns no rows.
	Columns []Column
}

// ValidationColumns are VALIDATE CONNECTION's result columns (DESIGN §5).
var ValidationColumns = []Column{{"check", sqlparse.TypeText}, {"status", sqlparse.TypeText},
	{"message", sqlparse.TypeText}, {"hint", sqlparse.TypeText}, {"duration_ms", sqlparse.TypeInt8}}

// showColumns are each SHOW's result columns.
var showColumns = map[sqlparse.ShowKind][]Column{
	sqlparse.ShowConnections:      {{"name", sqlparse.TypeText}, {"type", sqlparse.TypeText}},
	sqlparse.ShowSecrets:          {{"name", sqlparse.TypeText}},
	sqlparse.ShowCreateConnection: {{"name", sqlparse.TypeText}, {"create_sql", sqlparse.TypeText}},
	sqlparse.ShowTrustPolicy:      {{"principal", sqlparse.TypeText}, {"external_id", sqlparse.TypeText}, {"trust_policy", sqlparse.TypeJSON}},
	sqlparse.ShowPermissionPolicy: {{"permission_policy", sqlparse.TypeJSON}},
}

// jsonColumns are the catalog's text columns that hold JSON documents
// (IAM policies), typed json so that clients that parse JSON get objects.
var jsonColumns = map[string]bool{"example_trust_policy": true, "trust_policy": true, "permission_policy": true}

// intColumns are the catalog's integer columns, for typing the
// parameters compared with them.
var intColumns = map[string]bool{"assume_role_duration": true, "sts_calls": true, "packed_policy_size": true}

// DescribeStatement tells what stmt takes and returns without running it:
// SHOW and VALIDATE have fixed columns; a SELECT is compiled by SQLite
// (the one SELECT engine, on the file or the node's replica) and stopped
// before its first row, its columns typed by their declared types or,
// for expressions, by the query's tree (text where neither tells).
func (c *Executor) DescribeStatement(ctx context.Context, stmt sqlparse.Statement) (*StatementDescription, error) {
	switch s := stmt.(type) {
	case *sqlparse.Show:
		return &StatementDescription{Columns: showColumns[s.Kind]}, nil
	case *sqlparse.ValidateConnection:
		return &StatementDescription{Columns: ValidationColumns}, nil
	case *sqlparse.Query:
		return c.describeQuery(ctx, s)
	}
	return &StatementDescription{}, nil
}

func (c *Executor) describeQuery(ctx context.Context, q *sqlparse.Query) (*StatementDescription, error) {
	shape, err := q.Shape(func(name string) bool { return intColumns[name] })
	if err != nil {
		return nil, err
	}
	args := make([]any, shape.Query.Params())
	for i := range args {
		args[i] = int64(0) // bound, never used: the query stops before its first row
	}
	var types []*sql.ColumnType
	err = c.store.Query(ctx, shape.Query, args, func() [][]any { return nil }, func(rows *sql.Rows) error {
		defer rows.Close()
		var err error
		types, err = rows.ColumnTypes()
		return err
	})
	var missing *MissingColumnError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, CanceledError(ctx)
	case errors.As(err, &missing):
		return nil, c.undefinedColumn(ctx, q, missing)
	default:
		return nil, err
	}
	d := &StatementDescription{Params: shape.Params, Columns: make([]Column, len(types))}
	for i, t := range types {
		d.Columns[i] = Column{Name: t.Name(), Type: columnType(t.DatabaseTypeName(), t.Name(), fieldType(shape, i))}
	}
	return d, nil
}

// fieldType is the type the query's tree gives column i, or "".
func fieldType(shape *sqlparse.Shape, i int) sqlparse.Type {
	if i < len(shape.Fields) {
		return shape.Fields[i]
	}
	return ""
}

// columnType is a result column's type: its declared type when SQLite
// reports one (a column of a catalog table), else what the tree says,
// else text, which every value can be sent as.
func columnType(declared, name string, fromTree sqlparse.Type) sqlparse.Type {
	switch d := strings.ToUpper(declared); {
	case strings.Contains(d, "INT"):
		return sqlparse.TypeInt8
	case d == "REAL" || d == "DOUBLE" || d == "FLOAT":
		return sqlparse.TypeFloat8
	case d == "BLOB":
		return sqlparse.TypeBytea
	case d != "":
		if jsonColumns[strings.ToLower(name)] {
			return sqlparse.TypeJSON
		}
		return sqlparse.TypeText
	case fromTree != "":
		return fromTree
	}
	return sqlparse.TypeText
}
