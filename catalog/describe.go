package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/sqlparse"
)

// Description is everything about a connection that an engine shows its
// users: what to paste into AWS, where the data goes. It holds no secret
// (static keys are only said to be there), so it may be printed, logged
// and returned to any caller; Resolve is the one that opens secrets.
type Description struct {
	ID, Name string
	Type     sqlparse.ConnectionType

	// AWSConnection is the AWS connection that holds the credentials: the
	// connection itself, or the one an S3 connection uses.
	AWSConnection string
	// StaticKeys is true when the AWS connection uses an access key
	// rather than a role.
	StaticKeys bool
	// AssumeRoleARN and SessionName are the customer's role and the
	// session name set on the connection ("" for conncat's default).
	AssumeRoleARN, SessionName string
	// Duration is the role session's length (0: STS's default, one hour).
	Duration time.Duration
	// Principal is the engine's identity the trust policy names, and
	// ExternalID the ID it requires; both "" for static keys.
	Principal, ExternalID string
	// TrustPolicy is the policy the customer pastes into the role's trust
	// relationship, indented JSON; "" without a role or a principal.
	TrustPolicy                   string
	Region, Endpoint, STSEndpoint string

	// Bucket and Prefix are an S3 connection's; PermissionPolicy is the
	// least-privilege policy for that prefix, indented JSON. All "" for an
	// AWS connection.
	Bucket, Prefix, PermissionPolicy string

	// Options are the AWS connection's options as its create_sql sets
	// them, in the option table's order, each value as a statement prints
	// it (a secret as SECRET name, an inline one as '<redacted>'): every
	// option shows here, one added to the table included.
	Options []DescribedOption
}

// DescribedOption is one option of a described connection.
type DescribedOption struct {
	Name, Value string
}

// Describe returns a connection's description, read in one snapshot and
// without opening any secret.
func (c *Executor) Describe(ctx context.Context, name string) (d *Description, err error) {
	err = c.store.View(ctx, func(q Tx) error {
		d, err = c.describe(ctx, q, name)
		return err
	})
	return d, c.suggestName(ctx, err)
}

func (c *Executor) describe(ctx context.Context, q Tx, name string) (*Description, error) {
	conn, err := lookupConnection(ctx, q, name)
	if err != nil {
		return nil, err
	}
	if conn == nil {
		return nil, noSuch(sqlparse.ObjectConnection, name, -1)
	}
	if err := c.mayUseConnection(ctx, q, conn.id, -1); err != nil {
		return nil, err
	}
	d := &Description{ID: conn.id, Name: conn.name, Type: conn.typ, AWSConnection: conn.name}
	awsID := conn.id
	if conn.typ == sqlparse.ConnectionS3 {
		if err := q.QueryRowContext(ctx, `SELECT s.bucket, s.prefix, s.aws_connection_id, c.name FROM mz_s3_connections s JOIN mz_connections c ON c.id = s.aws_connection_id WHERE s.id = ?`, conn.id).
			Scan(&d.Bucket, &d.Prefix, &awsID, &d.AWSConnection); err != nil {
			return nil, fmt.Errorf("load s3 connection: %w", err)
		}
	}
	row, err := loadAWSRow(ctx, q, awsID)
	if err != nil {
		return nil, err
	}
	spec := row.spec(awsID, d.AWSConnection, "")
	d.StaticKeys = !spec.AssumesRole()
	d.AssumeRoleARN, d.SessionName, d.Duration = spec.RoleARN, spec.SessionName, spec.Duration
	d.Principal, d.ExternalID = row.principal.String, row.externalID.String
	if row.trustPolicy.Valid {
		d.TrustPolicy = indentJSON(row.trustPolicy.String)
	}
	d.Region, d.Endpoint, d.STSEndpoint = spec.Region, spec.Endpoint, spec.STSEndpoint
	if conn.typ == sqlparse.ConnectionS3 {
		d.PermissionPolicy = indentJSON(connection.PermissionPolicy(connection.PartitionOf(spec.RoleARN), d.Bucket, d.Prefix))
	}
	opts, err := awsOptions(ctx, q, row)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		d.Options = append(d.Options, DescribedOption{Name: string(o.Name), Value: o.ValueSQL()})
	}
	return d, nil
}
