package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// MaxQueryRows bounds what one SELECT may return, so a runaway query (a
// recursive CTE without end, a cross join of everything) stops with an
// error instead of exhausting memory.
const MaxQueryRows = 100_000

func (c *Catalog) show(ctx context.Context, s *sqlparse.Show, res *Result) error {
	res.Tag = "SHOW"
	switch s.Kind {
	case sqlparse.ShowConnections:
		return c.rows(ctx, res, `SELECT name, type FROM mz_connections ORDER BY name`)
	case sqlparse.ShowSecrets:
		return c.rows(ctx, res, `SELECT name FROM mz_secrets ORDER BY name`)
	}
	conn, err := lookupConnection(ctx, c.db, s.Name.Value)
	if err != nil {
		return err
	}
	if conn == nil {
		return errorf(sqlstate.UndefinedObject, s.Name.Pos, "connection %q does not exist", s.Name.Value)
	}
	switch s.Kind {
	case sqlparse.ShowCreateConnection:
		return c.rows(ctx, res, `SELECT name, create_sql FROM mz_connections WHERE id = ?`, conn.id)
	case sqlparse.ShowTrustPolicy:
		awsID := conn.id
		if conn.typ == sqlparse.ConnectionS3 {
			if err := c.db.QueryRowContext(ctx, `SELECT aws_connection_id FROM mz_s3_connections WHERE id = ?`, conn.id).Scan(&awsID); err != nil {
				return fmt.Errorf("load s3 connection: %w", err)
			}
		}
		row, err := loadAWSRow(ctx, c.db, awsID)
		if err != nil {
			return err
		}
		if !row.has(connection.AssumeRoleARN) {
			return errorf(sqlstate.WrongObjectType, s.Name.Pos, "connection %q does not assume a role, so it has no trust policy", s.Name.Value).
				WithHint("Trust policies apply to connections created with ASSUME ROLE ARN.")
		}
		if !row.trustPolicy.Valid {
			return errorf(sqlstate.PrerequisiteState, s.Name.Pos, "no principal is configured, so conncat cannot write the trust policy").
				WithHint(fmt.Sprintf("Open the catalog with a principal ARN. Until then the role must trust the identity conncat runs as, with the condition {\"StringEquals\": {\"sts:ExternalId\": %q}}.", row.externalID.String))
		}
		res.Columns = []string{"principal", "external_id", "trust_policy"}
		res.Rows = [][]any{{row.principal.String, row.externalID.String, indentJSON(row.trustPolicy.String)}}
		return nil
	case sqlparse.ShowPermissionPolicy:
		if conn.typ != sqlparse.ConnectionS3 {
			return errorf(sqlstate.WrongObjectType, s.Name.Pos, "connection %q is not an S3 connection", s.Name.Value).
				WithHint("A permission policy is for a bucket prefix: create an S3 connection with CREATE CONNECTION ... TO S3 (PREFIX = 's3://bucket/prefix/') USING AWS CONNECTION " + sqlparse.QuoteIdent(s.Name.Value) + ".")
		}
		var bucket, prefix, awsID string
		if err := c.db.QueryRowContext(ctx, `SELECT bucket, prefix, aws_connection_id FROM mz_s3_connections WHERE id = ?`, conn.id).Scan(&bucket, &prefix, &awsID); err != nil {
			return fmt.Errorf("load s3 connection: %w", err)
		}
		partition := "aws"
		if row, err := loadAWSRow(ctx, c.db, awsID); err == nil {
			partition = partitionOf(row.text(connection.AssumeRoleARN))
		}
		res.Columns = []string{"permission_policy"}
		res.Rows = [][]any{{indentJSON(PermissionPolicy(partition, bucket, prefix))}}
		return nil
	}
	return fmt.Errorf("catalog: unknown SHOW %s", s.Kind)
}

// indentJSON pretty-prints a policy keeping its key order, which is the
// order the customer reads (Version first, as in AWS's own examples).
func indentJSON(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}

// PermissionPolicy is the least-privilege IAM policy for reading and
// writing under one prefix of a bucket: listing limited to the prefix,
// object actions on bucket/prefix*, and what multipart uploads need.
func PermissionPolicy(partition, bucket, prefix string) string {
	type statement struct {
		Sid       string         `json:"Sid"`
		Effect    string         `json:"Effect"`
		Action    []string       `json:"Action"`
		Resource  string         `json:"Resource"`
		Condition map[string]any `json:"Condition,omitempty"`
	}
	bucketARN := "arn:" + partition + ":s3:::" + bucket
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{"2012-10-17", []statement{
		{Sid: "ListPrefix", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: bucketARN,
			Condition: map[string]any{"StringLike": map[string][]string{"s3:prefix": {prefix + "*"}}}},
		{Sid: "BucketInfo", Effect: "Allow", Action: []string{"s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}, Resource: bucketARN},
		{Sid: "ObjectsUnderPrefix", Effect: "Allow",
			Action:   []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
			Resource: bucketARN + "/" + prefix + "*"},
	}}
	b, _ := json.Marshal(doc)
	return string(b)
}

// rows runs an internal query and fills res with its columns and rows.
func (c *Catalog) rows(ctx context.Context, res *Result, query string, args ...any) error {
	rows, err := c.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("query catalog: %w", err)
	}
	return collect(rows, res)
}

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

// Resolved is a connection with everything needed to use it, secrets
// included (in AWS, whose fmt output redacts them).
type Resolved struct {
	ID, Name string
	Type     sqlparse.ConnectionType
	// AWS is the connection's credentials: its own for an AWS connection,
	// its AWS connection's for an S3 connection.
	AWS connection.Spec
	// S3 is the bucket and prefix of an S3 connection.
	S3 *connection.S3URL
}

// Resolve loads a connection by name with its secrets opened, all from
// one snapshot of the catalog: a concurrent ALTER SECRET is seen wholly
// or not at all.
func (c *Catalog) Resolve(ctx context.Context, name string) (r *Resolved, err error) {
	err = c.inReadTx(ctx, func(q querier) error {
		r, err = c.resolve(ctx, q, name)
		return err
	})
	return r, err
}

// ResolveID is Resolve by object ID, which survives RENAME: the data
// plane holds IDs so that a renamed connection keeps working.
func (c *Catalog) ResolveID(ctx context.Context, id string) (r *Resolved, err error) {
	err = c.inReadTx(ctx, func(q querier) error {
		r, err = c.resolveID(ctx, q, id)
		return err
	})
	return r, err
}

func (c *Catalog) resolveID(ctx context.Context, q querier, id string) (*Resolved, error) {
	r := &connRef{id: id}
	var typ string
	err := q.QueryRowContext(ctx, `SELECT name, type FROM mz_connections WHERE id = ?`, id).Scan(&r.name, &typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(sqlstate.UndefinedObject, -1, "connection %s no longer exists", id).
			WithHint("It was dropped; create it again and ask for a new client.")
	}
	if err != nil {
		return nil, fmt.Errorf("look up connection: %w", err)
	}
	r.typ = sqlparse.ConnectionType(typ)
	return c.resolveRef(ctx, q, r)
}

// inReadTx runs fn on one connection inside a deferred transaction: in
// WAL mode every read in it sees one snapshot, and it takes no write lock
// (go-sqlite3 begins every database/sql transaction as the DSN's
// _txlock=immediate says, which would queue a read behind every writer).
func (c *Catalog) inReadTx(ctx context.Context, fn func(querier) error) error {
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	// Deferred, so that a panic in fn still ends the transaction. A
	// connection whose rollback failed is discarded, never reused inside
	// an open transaction.
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return fn(conn)
}

func (c *Catalog) resolve(ctx context.Context, q querier, name string) (*Resolved, error) {
	conn, err := lookupConnection(ctx, q, name)
	if err != nil {
		return nil, err
	}
	if conn == nil {
		return nil, errorf(sqlstate.UndefinedObject, -1, "connection %q does not exist", name)
	}
	return c.resolveRef(ctx, q, conn)
}

func (c *Catalog) resolveRef(ctx context.Context, q querier, conn *connRef) (*Resolved, error) {
	r := &Resolved{ID: conn.id, Name: conn.name, Type: conn.typ}
	awsID, awsName := conn.id, conn.name
	if conn.typ == sqlparse.ConnectionS3 {
		var u connection.S3URL
		if err := q.QueryRowContext(ctx, `SELECT s.bucket, s.prefix, s.aws_connection_id, c.name FROM mz_s3_connections s JOIN mz_connections c ON c.id = s.aws_connection_id WHERE s.id = ?`, conn.id).
			Scan(&u.Bucket, &u.Prefix, &awsID, &awsName); err != nil {
			return nil, fmt.Errorf("load s3 connection: %w", err)
		}
		r.S3 = &u
	}
	row, err := loadAWSRow(ctx, q, awsID)
	if err != nil {
		return nil, err
	}
	spec := row.spec(awsID, awsName, c.opts.Principal)
	if err := c.openSecrets(ctx, q, row, &spec); err != nil {
		return nil, err
	}
	r.AWS = spec
	return r, nil
}

// checkParamValues refuses a parameter value of a type the query cannot
// compare with a column (22023, naming the parameter), so that nothing
// reaches the driver that it would turn into text of its own choosing.
func checkParamValues(q *sqlparse.Query, args []any) error {
	for i, a := range args {
		switch v := a.(type) {
		case nil, string, []byte, bool, int, int8, int16, int32, int64,
			uint8, uint16, uint32, float32, float64, time.Time:
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
				WithHint("Pass a string, a number, a bool, a time.Time, []byte or nil.")
		}
	}
	return nil
}
