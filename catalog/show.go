package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// MaxQueryRows bounds what one SELECT may return, so a runaway query (a
// recursive CTE without end, a cross join of everything) stops with an
// error instead of exhausting memory.
const MaxQueryRows = 100_000

// show answers a SHOW statement from one snapshot of the catalog.
func (c *Executor) show(ctx context.Context, s *sqlparse.Show, res *Result) error {
	res.Tag = "SHOW"
	return c.store.View(ctx, func(q Tx) error { return c.showIn(ctx, q, s, res) })
}

func (c *Executor) showIn(ctx context.Context, q Tx, s *sqlparse.Show, res *Result) error {
	switch s.Kind {
	case sqlparse.ShowConnections:
		err := rows(ctx, q, res, `SELECT name, type, owner_id, privileges FROM mz_connections ORDER BY name`)
		c.usableRows(ctx, sqlparse.ObjectConnection, res)
		return err
	case sqlparse.ShowSecrets:
		err := rows(ctx, q, res, `SELECT name, owner_id, privileges FROM mz_secrets ORDER BY name`)
		c.usableRows(ctx, sqlparse.ObjectSecret, res)
		return err
	}
	conn, err := lookupConnection(ctx, q, s.Name.Value)
	if err != nil {
		return err
	}
	if conn == nil {
		return noSuch(sqlparse.ObjectConnection, s.Name.Value, s.Name.Pos)
	}
	if err := c.mayUseConnection(ctx, q, conn.id, s.Name.Pos); err != nil {
		return err
	}
	switch s.Kind {
	case sqlparse.ShowCreateConnection:
		return rows(ctx, q, res, `SELECT name, create_sql FROM mz_connections WHERE id = ?`, conn.id)
	case sqlparse.ShowTrustPolicy:
		return showTrustPolicy(ctx, q, s, conn, res)
	case sqlparse.ShowPermissionPolicy:
		return showPermissionPolicy(ctx, q, s, conn, res)
	}
	return fmt.Errorf("catalog: unknown SHOW %s", s.Kind)
}

// showTrustPolicy is SHOW TRUST POLICY of an AWS connection, or of the
// AWS connection an S3 connection uses.
func showTrustPolicy(ctx context.Context, q Tx, s *sqlparse.Show, conn *connRef, res *Result) error {
	awsID := conn.id
	if conn.typ == sqlparse.ConnectionS3 {
		if err := q.QueryRowContext(ctx, `SELECT aws_connection_id FROM mz_s3_connections WHERE id = ?`, conn.id).Scan(&awsID); err != nil {
			return fmt.Errorf("load s3 connection: %w", err)
		}
	}
	row, err := loadAWSRow(ctx, q, awsID)
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
}

// showPermissionPolicy is SHOW PERMISSION POLICY of an S3 connection: what
// its role needs for the prefix, in the role's partition.
func showPermissionPolicy(ctx context.Context, q Tx, s *sqlparse.Show, conn *connRef, res *Result) error {
	if conn.typ != sqlparse.ConnectionS3 {
		return errorf(sqlstate.WrongObjectType, s.Name.Pos, "connection %q is not an S3 connection", s.Name.Value).
			WithHint("A permission policy is for a bucket prefix: create an S3 connection with CREATE CONNECTION ... TO S3 (PREFIX = 's3://bucket/prefix/') USING AWS CONNECTION " + sqlparse.QuoteIdent(s.Name.Value) + ".")
	}
	var bucket, prefix, awsID string
	if err := q.QueryRowContext(ctx, `SELECT bucket, prefix, aws_connection_id FROM mz_s3_connections WHERE id = ?`, conn.id).Scan(&bucket, &prefix, &awsID); err != nil {
		return fmt.Errorf("load s3 connection: %w", err)
	}
	partition := "aws"
	if row, err := loadAWSRow(ctx, q, awsID); err == nil {
		partition = connection.PartitionOf(row.text(connection.AssumeRoleARN))
	}
	res.Columns = []string{"permission_policy"}
	res.Rows = [][]any{{indentJSON(connection.PermissionPolicy(partition, bucket, prefix))}}
	return nil
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

// rows runs an internal query and fills res with its columns and rows.
func rows(ctx context.Context, q Tx, res *Result, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("query catalog: %w", err)
	}
	return collect(rows, res, nil) // the catalog's own small reads
}
