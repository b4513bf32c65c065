package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

func collect(rows *sql.Rows, res *Result) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	res.Columns = cols
	res.Rows = [][]any{}
	for rows.Next() {
		if len(res.Rows) >= MaxQueryRows {
			return errorf(sqlstate.ProgramLimitExceeded, -1, "query returned more than %d rows", MaxQueryRows).
				WithHint("Add a WHERE clause or a LIMIT.")
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	return rows.Err()
}

// query runs a gated SELECT. Only catalog tables can be named; the query
// runs in a read-only transaction on its own connection.
func (c *Catalog) query(ctx context.Context, q *sqlparse.Query, res *Result, args []any) error {
	if err := checkParamValues(q, args); err != nil {
		return err
	}
	text, err := q.SQLite(func(t sqlparse.TableRef) (string, error) {
		if !catalogTables[t.Name] {
			return "", errorf(sqlstate.UndefinedTable, t.Pos, "relation %q does not exist", t.String()).
				WithHint("The catalog tables are " + strings.Join(sortedTables(), ", ") + ".")
		}
		return t.Name, nil
	})
	if err != nil {
		return err
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer conn.Close()
	// query_only makes SQLite itself refuse any write, whatever got past the gate.
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = ON`); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer conn.ExecContext(context.Background(), `PRAGMA query_only = OFF`)
	g, unguard, err := guard(conn, q.CTENames())
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer unguard()
	rows, err := conn.QueryContext(ctx, text, args...)
	if err != nil {
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		if g.refused != "" {
			return g.err(q)
		}
		if e := tooBig(err, q); e != nil {
			return e
		}
		if e := c.undefinedColumn(ctx, err, q); e != nil {
			return e
		}
		return errorf(sqlstate.SyntaxError, q.Pos(), "query failed: %v", err)
	}
	if err := collect(rows, res); err != nil {
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		var coded *sqlparse.Error
		if errors.As(err, &coded) {
			return err
		}
		if e := tooBig(err, q); e != nil {
			return e
		}
		// SQLite raised it while computing rows: a value a function
		// refused (a bad JSON path, say).
		return errorf(sqlstate.DataException, q.Pos(), "query failed: %v", err)
	}
	res.Tag = fmt.Sprintf("SELECT %d", len(res.Rows))
	return nil
}

// undefinedColumn is 42703 for a query naming a column that does not
// exist, pointing at it, with the nearest column of the tables it reads as
// a hint; nil for any other error. SQLite says which column only in its
// message ("no such column: c.nam"), so this one reads the message.
func (c *Catalog) undefinedColumn(ctx context.Context, err error, q *sqlparse.Query) *sqlparse.Error {
	const prefix = "no such column: "
	var se sqlite3.Error
	if !errors.As(err, &se) || !strings.HasPrefix(se.Error(), prefix) {
		return nil
	}
	written := strings.TrimPrefix(se.Error(), prefix)
	column := written[strings.LastIndexByte(written, '.')+1:]
	shown := written // as PostgreSQL shows it: "nam", c.nam
	if column == written {
		shown = `"` + written + `"`
	}
	e := errorf(sqlstate.UndefinedColumn, q.ColumnPos(written), "column %s does not exist", shown)
	if near := sqlparse.Nearest(column, c.columnsOf(ctx, q.Tables())); near != "" {
		e.Hint = `Perhaps you meant to reference the column "` + near + `".`
	}
	e.Err = err
	return e
}

// columnsOf lists the columns of the catalog tables refs name.
func (c *Catalog) columnsOf(ctx context.Context, refs []sqlparse.TableRef) []string {
	var cols []string
	for _, t := range refs {
		if !catalogTables[t.Name] {
			continue
		}
		rows, err := c.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, t.Name)
		if err != nil {
			return cols
		}
		for rows.Next() {
			var name string
			if rows.Scan(&name) == nil {
				cols = append(cols, name)
			}
		}
		rows.Close()
	}
	return cols
}

// canceled is 57014 for a query whose context ended, worded as
// PostgreSQL words a statement timeout and a cancel request.
func canceled(ctx context.Context) *sqlparse.Error {
	e := errorf(sqlstate.QueryCanceled, -1, "canceling statement due to user request")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		e.Message = "canceling statement due to statement timeout"
	}
	e.Err = ctx.Err()
	return e
}

// tooBig is the error for a query that computed a value over
// MaxQueryValueLen, or nil.
func tooBig(err error, q *sqlparse.Query) *sqlparse.Error {
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrTooBig {
		return nil
	}
	e := errorf(sqlstate.ProgramLimitExceeded, q.Pos(), "query computed a value over %d MiB", MaxQueryValueLen>>20)
	e.Hint = "Catalog queries may not build strings or blobs that large."
	e.Err = err
	return e
}

func sortedTables() []string {
	return slices.Sorted(maps.Keys(catalogTables))
}

// checkParamValues refuses a parameter value of a type the query cannot
// compare with a column (22023, naming the parameter), so that nothing
// reaches the driver that it would turn into text of its own choosing: a
// time.Time, say, which go-sqlite3 writes in another format than the
// catalog's timestamps.
func checkParamValues(q *sqlparse.Query, args []any) error {
	for i, a := range args {
		switch v := a.(type) {
		case nil, string, []byte, bool, int, int8, int16, int32, int64,
			uint8, uint16, uint32, float32, float64:
		case uint:
			if uint64(v) > math.MaxInt64 {
				return errorf(sqlstate.InvalidParameterValue, q.Pos(), "parameter $%d is out of range for a 64-bit integer", i+1)
			}
		case uint64:
			if v > math.MaxInt64 {
				return errorf(sqlstate.InvalidParameterValue, q.Pos(), "parameter $%d is out of range for a 64-bit integer", i+1)
			}
		default:
			return errorf(sqlstate.InvalidParameterValue, q.Pos(), "parameter $%d has type %T, which a catalog query cannot take", i+1, a).
				WithHint("Pass a string, a number, a bool, []byte or nil; a time as text in the catalog's format (RFC 3339, UTC).")
		}
	}
	return nil
}
