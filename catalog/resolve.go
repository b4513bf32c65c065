package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

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
	err = c.store.Read(ctx, func(q Tx) error {
		r, err = c.resolve(ctx, q, name)
		return err
	})
	return r, err
}

// ResolveID is Resolve by object ID, which survives RENAME: the data
// plane holds IDs so that a renamed connection keeps working.
func (c *Catalog) ResolveID(ctx context.Context, id string) (r *Resolved, err error) {
	err = c.store.Read(ctx, func(q Tx) error {
		r, err = c.resolveID(ctx, q, id)
		return err
	})
	return r, err
}

func (c *Catalog) resolveID(ctx context.Context, q Tx, id string) (*Resolved, error) {
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

func (c *Catalog) resolve(ctx context.Context, q Tx, name string) (*Resolved, error) {
	conn, err := lookupConnection(ctx, q, name)
	if err != nil {
		return nil, err
	}
	if conn == nil {
		return nil, errorf(sqlstate.UndefinedObject, -1, "connection %q does not exist", name)
	}
	return c.resolveRef(ctx, q, conn)
}

func (c *Catalog) resolveRef(ctx context.Context, q Tx, conn *connRef) (*Resolved, error) {
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
