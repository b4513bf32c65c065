package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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
// one snapshot of the catalog: a concurrent ALTER SECRET is seen wholly or
// not at all.
func (c *Executor) Resolve(ctx context.Context, name string) (*Resolved, error) {
	r, err := c.resolveOutside(ctx, false, name)
	return r, c.suggestName(ctx, err)
}

// ResolveID is Resolve by object ID, which survives RENAME: the data
// plane holds IDs so that a renamed connection keeps working.
func (c *Executor) ResolveID(ctx context.Context, id string) (*Resolved, error) {
	return c.resolveOutside(ctx, true, id)
}

// resolveOutside resolves outside any transaction of the caller's. Where
// statements cost round trips (PostgreSQL) it is one joined statement,
// its own snapshot; in process (SQLite) a few narrow statements in one
// read transaction are faster than joining eight tables.
func (c *Executor) resolveOutside(ctx context.Context, byID bool, key string) (r *Resolved, err error) {
	if c.store.RoundTrips() {
		return c.resolveIn(ctx, c.store.Reader(), byID, key)
	}
	err = c.store.Read(ctx, func(q Tx) error {
		r, err = c.resolveIn(ctx, q, byID, key)
		return err
	})
	return r, err
}

// resolveIn resolves by ID or name with q, which may be inside a
// transaction (WITH (VALIDATE)'s dry run resolves what the statement
// would leave).
func (c *Executor) resolveIn(ctx context.Context, q Tx, byID bool, key string) (*Resolved, error) {
	var r *Resolved
	var err error
	switch {
	case c.store.RoundTrips() && byID:
		r, err = c.resolveJoined(ctx, q, resolveByID, key)
	case c.store.RoundTrips():
		r, err = c.resolveJoined(ctx, q, resolveByName, key)
	default:
		r, err = c.resolveNarrow(ctx, q, byID, key)
	}
	switch {
	case err == nil:
		return r, c.mayUseConnection(ctx, q, r.ID, -1)
	case !errors.Is(err, sql.ErrNoRows):
		return r, err
	case byID:
		return nil, errorf(sqlstate.UndefinedObject, -1, "connection %s no longer exists", key).
			WithHint("It was dropped; create it again and ask for a new client.")
	}
	return nil, noSuch(sqlparse.ObjectConnection, key, -1)
}

// resolveNarrow reads the connection, its S3 row, its AWS row and each
// sealed value it uses, one statement each.
func (c *Executor) resolveNarrow(ctx context.Context, q Tx, byID bool, key string) (*Resolved, error) {
	r := &Resolved{}
	var typ string
	where := `name = ?`
	if byID {
		where = `id = ?`
	}
	if err := q.QueryRowContext(ctx, `SELECT id, name, type FROM mz_connections WHERE `+where, key).Scan(&r.ID, &r.Name, &typ); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("look up connection: %w", err)
	}
	r.Type = sqlparse.ConnectionType(typ)
	awsID, awsName := r.ID, r.Name
	if r.Type == sqlparse.ConnectionS3 {
		var u connection.S3URL
		if err := q.QueryRowContext(ctx, `SELECT s.bucket, s.prefix, s.aws_connection_id, c.name FROM mz_s3_connections s JOIN mz_connections c ON c.id = s.aws_connection_id WHERE s.id = ?`, r.ID).
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

// openSecrets fills spec's secret fields from the sealed values the row
// uses, read one statement each.
func (c *Executor) openSecrets(ctx context.Context, q Tx, row *awsRow, spec *connection.Spec) error {
	return c.openSealed(ctx, q, row, spec, func(id string) (sealedPair, error) {
		var p sealedPair
		err := q.QueryRowContext(ctx, `SELECT nonce, ciphertext FROM conncat_secret_values WHERE id = ?`, id).Scan(&p.nonce, &p.ct)
		return p, err
	})
}

// openSealed opens, into spec's secret fields, each sealed value the row
// uses (a referenced secret, or an inline one sealed under the
// connection), as lookup finds it by ID.
func (c *Executor) openSealed(ctx context.Context, q Tx, row *awsRow, spec *connection.Spec, lookup func(id string) (sealedPair, error)) error {
	for _, d := range connection.Options {
		v, ok := row.options[d.Name]
		var id string
		switch {
		case !ok:
			continue
		case v.secretID != "":
			id = v.secretID
		case d.Secret == connection.SecretSealed:
			id = sealedValueID(spec.ID, d)
		default:
			continue
		}
		pair, err := lookup(id)
		if err != nil {
			return fmt.Errorf("load sealed value %s: %w", id, err)
		}
		text, err := c.openValue(ctx, q, id, pair.nonce, pair.ct)
		if err != nil {
			return err
		}
		d.SetField(spec, text, 0)
	}
	return nil
}

// resolveByName and resolveByID read a connection, the AWS connection
// holding its credentials, and every sealed value they use, in one
// statement: one round trip and one snapshot. The sealed values come from
// one join on every ID the option table says the row may use (each
// referenced secret, each inline secret), a row per value found, so the
// server probes one index once instead of joining it per option.
var resolveByName, resolveByID = func() (string, string) {
	var sealedIDs []string
	for _, d := range connection.Options {
		if d.SecretColumn != "" {
			sealedIDs = append(sealedIDs, "a."+d.SecretColumn)
		}
		if d.Secret == connection.SecretSealed {
			sealedIDs = append(sealedIDs, fmt.Sprintf("a.id || '/%s'", d.Column))
		}
	}
	var aws []string
	for _, col := range strings.Split(awsColumns, ", ") {
		aws = append(aws, "a."+strings.TrimSpace(col))
	}
	// An AWS connection holds its own credentials: only an S3 connection
	// needs its AWS connection's row (sc) read too.
	base := `SELECT c.id, c.name, c.type, s.bucket, s.prefix, COALESCE(sc.id, c.id), COALESCE(sc.name, c.name), ` + strings.Join(aws, ", ") + `, v.id, v.nonce, v.ciphertext
		FROM mz_connections c
		LEFT JOIN mz_s3_connections s ON s.id = c.id
		LEFT JOIN mz_connections sc ON sc.id = s.aws_connection_id
		JOIN mz_aws_connections a ON a.id = COALESCE(s.aws_connection_id, c.id)
		LEFT JOIN conncat_secret_values v ON v.id IN (` + strings.Join(sealedIDs, ", ") + `)`
	return base + ` WHERE c.name = ?`, base + ` WHERE c.id = ?`
}()

// sealedPair is one sealed value as the resolve query returns it.
type sealedPair struct{ nonce, ct []byte }

func (c *Executor) resolveJoined(ctx context.Context, q Tx, query, arg string) (*Resolved, error) {
	rows, err := q.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, fmt.Errorf("resolve connection: %w", err)
	}
	defer rows.Close()
	var r Resolved
	var typ string
	var bucket, prefix, sealedID sql.NullString
	var row awsRow
	var pair sealedPair
	awsTargets, fill := row.scanTargets()
	targets := append(append([]any{&r.ID, &r.Name, &typ, &bucket, &prefix, &r.AWS.ID, &r.AWS.Name}, awsTargets...),
		&sealedID, &pair.nonce, &pair.ct)
	sealed := map[string]sealedPair{}
	found := false
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return nil, fmt.Errorf("resolve connection: %w", err)
		}
		found = true
		if sealedID.Valid {
			sealed[sealedID.String] = sealedPair{pair.nonce, pair.ct}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resolve connection: %w", err)
	}
	if !found {
		return nil, sql.ErrNoRows
	}
	fill()
	r.Type = sqlparse.ConnectionType(typ)
	if r.Type == sqlparse.ConnectionS3 {
		r.S3 = &connection.S3URL{Bucket: bucket.String, Prefix: prefix.String}
	}
	spec := row.spec(r.AWS.ID, r.AWS.Name, c.opts.Principal)
	lookup := func(id string) (sealedPair, error) {
		if p, ok := sealed[id]; ok {
			return p, nil
		}
		return sealedPair{}, sql.ErrNoRows
	}
	if err := c.openSealed(ctx, q, &row, &spec, lookup); err != nil {
		return nil, err
	}
	r.AWS = spec
	return &r, nil
}
