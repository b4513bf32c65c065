package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// collect reads rows into res, each row counted by meter (nil: none).
func collect(rows Rows, res *Result, meter *resultMeter) error {
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
			vals[i] = normalize(v)
		}
		if err := meter.add(vals); err != nil {
			return err
		}
		res.Rows = append(res.Rows, vals)
	}
	return rows.Err()
}

// normalize gives a value a type Result documents (string, int64,
// float64 or nil): every store answers from SQLite, whose text may come
// from the driver as bytes (no catalog column holds a blob).
func normalize(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// query runs a gated SELECT through the store, which adds its own second
// layer. Only catalog tables can be named.
func (c *Executor) query(ctx context.Context, q *sqlparse.Query, res *Result, args []any) error {
	return c.runQuery(ctx, q, res, args, c.store.Query)
}

// queryIn is query as tx, a write transaction of the store, sees the
// catalog (a transaction block's SELECT).
func (c *Executor) queryIn(ctx context.Context, tx Tx, q *sqlparse.Query, res *Result, args []any) error {
	return c.runQuery(ctx, q, res, args, func(ctx context.Context, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error {
		return c.store.QueryIn(ctx, tx, q, args, statuses, collect)
	})
}

// queryRunner is Store.Query, or QueryIn bound to a transaction.
type queryRunner func(ctx context.Context, q *sqlparse.Query, args []any, statuses func() [][]any, collect func(*sql.Rows) error) error

func (c *Executor) runQuery(ctx context.Context, q *sqlparse.Query, res *Result, args []any, run queryRunner) error {
	args, err := paramValues(q, args)
	if err != nil {
		return err
	}
	if c.querySlots != nil {
		select {
		case c.querySlots <- struct{}{}:
			defer func() { <-c.querySlots }()
		case <-ctx.Done():
			return CanceledError(ctx)
		}
	}
	meter := c.newMeter()
	defer meter.done()
	if a := c.actor(ctx); !a.super {
		ctx = context.WithValue(ctx, queryRoleKey{}, a.role)
	}
	err = run(ctx, q, args, c.statusRows, func(rows *sql.Rows) error { return collect(rows, res, meter) })
	var missing *MissingColumnError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return CanceledError(ctx)
	case errors.As(err, &missing):
		return c.undefinedColumn(ctx, q, missing)
	default:
		return withoutParamValues(err, args)
	}
	res.Tag = fmt.Sprintf("SELECT %d", len(res.Rows))
	return nil
}

// UndefinedTableError is 42P01 for a table a query names that is not a
// catalog table.
func UndefinedTableError(t sqlparse.TableRef) *sqlerror.Error {
	return errorf(sqlstate.UndefinedTable, t.Pos, "relation %q does not exist", t.String()).
		WithHint("The catalog tables are " + strings.Join(Tables(), ", ") + ".")
}

// MissingColumnError is what a store returns for a query naming a column
// its tables lack, as written ("nam" or "c.nam"); the executor turns it
// into 42703 with the nearest column as a hint.
type MissingColumnError struct {
	Written string
	Err     error
}

func (e *MissingColumnError) Error() string { return "no such column: " + e.Written }
func (e *MissingColumnError) Unwrap() error { return e.Err }

// undefinedColumn is 42703 for a missing column, pointing at it, with the
// nearest column of the tables the query reads as a hint.
func (c *Executor) undefinedColumn(ctx context.Context, q *sqlparse.Query, missing *MissingColumnError) *sqlerror.Error {
	written := missing.Written
	column := written[strings.LastIndexByte(written, '.')+1:]
	shown := written // as PostgreSQL shows it: "nam", c.nam
	if column == written {
		shown = `"` + written + `"`
	}
	pos := q.ColumnPos(written)
	e := errorf(sqlstate.UndefinedColumn, pos, "column %s does not exist", shown)
	switch near := sqlparse.Nearest(column, c.columnsOf(ctx, q.Tables())); {
	case near != "":
		e.Hint = `Perhaps you meant to reference the column "` + near + `".`
	case q.DoubleQuotedAt(pos):
		e.Hint = "Text values go in single quotes ('" + strings.ReplaceAll(column, "'", "''") + "'); double quotes make a column name."
	}
	e.Err = missing.Err
	return e
}

// columnsOf lists the columns of the catalog tables refs name, as the
// store has them (an empty read of each).
func (c *Executor) columnsOf(ctx context.Context, refs []sqlparse.TableRef) []string {
	var cols []string
	for _, t := range refs {
		if !IsTable(t.Name) {
			continue
		}
		if t.Name == StatusTable {
			cols = append(cols, StatusColumns...)
			continue
		}
		_ = c.store.View(ctx, func(tx Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT * FROM `+t.Name+` WHERE 1 = 0`)
			if err != nil {
				return err
			}
			defer rows.Close()
			names, err := rows.Columns()
			cols = append(cols, names...)
			return err
		})
	}
	return cols
}

// AmbiguousColumnError is 42702 for a column name that more than one
// table of the query has, worded as PostgreSQL words it, pointing at the
// name; both stores report it so.
func AmbiguousColumnError(q *sqlparse.Query, name string, err error) *sqlerror.Error {
	e := errorf(sqlstate.AmbiguousColumn, q.ColumnPos(name), "column reference %q is ambiguous", name).
		WithHint("Qualify it with the table's name or alias.")
	e.Err = err
	return e
}

// CanceledError is 57014 for a statement whose context ended, worded as
// PostgreSQL words a statement timeout and a cancel request.
func CanceledError(ctx context.Context) *sqlerror.Error {
	e := errorf(sqlstate.QueryCanceled, -1, "canceling statement due to user request")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		e.Message = "canceling statement due to statement timeout"
	}
	e.Err = ctx.Err()
	return e
}

// QueryFailedError is the error of a query the database refused for a
// reason the store cannot name better: 42601 when it would not compile,
// 22000 when it failed while computing rows (a bad JSON path, say).
func QueryFailedError(q *sqlparse.Query, compiling bool, err error) *sqlerror.Error {
	code := sqlstate.DataException
	if compiling {
		code = sqlstate.SyntaxError
	}
	e := errorf(code, q.Pos(), "query failed: %v", err)
	e.Err = err
	return e
}

// paramValues checks the parameter values and gives them the types a
// store receives: nil, string, int64 or float64. A value of a type the
// query cannot compare with a column is refused (22023, naming the
// parameter), so that nothing reaches the driver that it would turn into
// text of its own choosing: a time.Time, say, which go-sqlite3 writes in
// another format than the catalog's timestamps. Bytes are text (no
// catalog column holds bytes, and SQLite would compare a blob with no text
// as equal) and a bool is 1 or 0, as the catalog's booleans are. Text is
// held to a literal's 64 KiB (54000).
func paramValues(q *sqlparse.Query, args []any) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		v, err := paramValue(a)
		if err != nil {
			return nil, errorf(sqlstate.InvalidParameterValue, q.Pos(), "parameter $%d %s", i+1, err.Error()).
				WithHint("Pass a string, a number, a bool, []byte or nil; a time as text in the catalog's format (RFC 3339, UTC).")
		}
		if text, ok := v.(string); ok {
			if err := checkParamText(q, i+1, text); err != nil {
				return nil, err
			}
		}
		out[i] = v
	}
	return out, nil
}

// checkParamText holds text parameter $n to the rules a string literal
// keeps: at most 64 KiB (54000), no NUL and valid UTF-8 (22021). The
// errors name the parameter, never its value.
func checkParamText(q *sqlparse.Query, n int, text string) *sqlerror.Error {
	switch {
	case len(text) > sqlparse.MaxStringLen:
		return errorf(sqlstate.ProgramLimitExceeded, q.Pos(), "parameter $%d is %d bytes, over the %d a value may have", n, len(text), sqlparse.MaxStringLen).
			WithHint("Catalog values are short; a parameter is held to the limit of a literal.")
	case strings.IndexByte(text, 0) >= 0:
		return errorf(sqlstate.CharacterNotInRepert, q.Pos(), "parameter $%d holds a NUL byte", n)
	case !utf8.ValidString(text):
		return errorf(sqlstate.CharacterNotInRepert, q.Pos(), "parameter $%d is not valid UTF-8", n).
			WithHint("Catalog text is UTF-8; pass binary data encoded, as hex or base64.")
	}
	return nil
}

// withoutParamValues keeps the values of a query's parameters out of its
// error: a database's message can quote the input it could not use
// (PostgreSQL's `invalid input syntax for type bigint: "..."`, SQLite's
// JSON path errors), and parameters are data, possibly a secret. Each
// value is replaced by the parameter's name ($n); the database's own
// error, which still holds it, is dropped.
func withoutParamValues(err error, args []any) error {
	var e *sqlerror.Error
	if !errors.As(err, &e) || len(args) == 0 {
		return err
	}
	scrubbed := *e
	for i, a := range args {
		if text, ok := a.(string); ok && text != "" {
			name := fmt.Sprintf("$%d", i+1)
			scrubbed.Message = scrubValue(scrubbed.Message, text, name)
			scrubbed.Detail = scrubValue(scrubbed.Detail, text, name)
			scrubbed.Hint = scrubValue(scrubbed.Hint, text, name)
		}
	}
	if scrubbed.Message != e.Message || scrubbed.Detail != e.Detail || scrubbed.Hint != e.Hint {
		scrubbed.Err = nil
	}
	return &scrubbed
}

// scrubValue replaces value in s with name: quoted ("value", 'value')
// whatever its length, and bare when it is long enough not to be an
// ordinary word or number of the message itself.
func scrubValue(s, value, name string) string {
	s = strings.ReplaceAll(s, `"`+value+`"`, name)
	s = strings.ReplaceAll(s, `'`+value+`'`, name)
	if len(value) >= 4 {
		s = strings.ReplaceAll(s, value, name)
	}
	return s
}

// paramValue is one parameter value in a store's types, or why not.
func paramValue(a any) (any, error) {
	switch v := a.(type) {
	case nil, string, int64, float64:
		return v, nil
	case []byte:
		return string(v), nil
	case bool:
		if v {
			return int64(1), nil
		}
		return int64(0), nil
	case float32:
		return float64(v), nil
	case int, int8, int16, int32:
		return reflect.ValueOf(v).Int(), nil
	case uint, uint8, uint16, uint32, uint64:
		if u := reflect.ValueOf(v).Uint(); u <= math.MaxInt64 {
			return int64(u), nil
		}
		return nil, errors.New("is out of range for a 64-bit integer")
	}
	return nil, fmt.Errorf("has type %T, which a catalog query cannot take", a)
}
