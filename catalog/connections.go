package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

func null(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// connRef is a connection found by name.
type connRef struct {
	id, name string
	typ      sqlparse.ConnectionType
}

// lookupForCreate looks a connection's name up and reads the ID counter in
// one statement (one round trip where statements cost one): CREATE needs
// both, and takes the ID only if the name is free.
func lookupForCreate(ctx context.Context, q Tx, name string) (*connRef, int64, error) {
	var id, typ sql.NullString
	var next int64
	err := q.QueryRowContext(ctx, `SELECT c.id, c.type, i.next FROM conncat_ids i LEFT JOIN mz_connections c ON c.name = ?`, name).
		Scan(&id, &typ, &next)
	if err != nil {
		return nil, 0, fmt.Errorf("look up connection: %w", err)
	}
	if !id.Valid {
		return nil, next, nil
	}
	return &connRef{id: id.String, name: name, typ: sqlparse.ConnectionType(typ.String)}, next, nil
}

func lookupConnection(ctx context.Context, q Tx, name string) (*connRef, error) {
	r := &connRef{name: name}
	var typ string
	err := q.QueryRowContext(ctx, `SELECT id, type FROM mz_connections WHERE name = ?`, name).Scan(&r.id, &typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up connection: %w", err)
	}
	r.typ = sqlparse.ConnectionType(typ)
	return r, nil
}

func (c *Executor) createConnection(ctx context.Context, tx Tx, s *sqlparse.CreateConnection, res *Result) error {
	existing, next, err := lookupForCreate(ctx, tx, s.Name.Value)
	if err != nil {
		return err
	}
	if existing != nil {
		if s.IfNotExists {
			res.Notices = append(res.Notices, fmt.Sprintf("connection %q already exists, skipping", s.Name.Value))
			return nil
		}
		return errorf(sqlstate.DuplicateObject, s.Name.Pos, "connection %q already exists", s.Name.Value).
			WithHint("Use CREATE CONNECTION IF NOT EXISTS to skip it when it exists, or ALTER CONNECTION to change it.")
	}
	id, err := takeID(ctx, tx, next)
	if err != nil {
		return err
	}
	switch s.Type {
	case sqlparse.ConnectionAWS:
		return c.createAWS(ctx, tx, id, s, res)
	case sqlparse.ConnectionS3:
		if err := c.insertConnection(ctx, tx, id, s.Name.Value, s.Type, nil); err != nil {
			return err
		}
		if err := c.setS3(ctx, tx, id, s.Options, *s.UsingAWS, true); err != nil {
			return err
		}
	}
	return c.rewriteCreateSQL(ctx, tx, id)
}

// insertConnection writes a connection's mz_connections row; createSQL,
// when known, is its create_sql (else rewriteCreateSQL writes it later).
func (c *Executor) insertConnection(ctx context.Context, tx Tx, id, name string, typ sqlparse.ConnectionType, createSQL *sqlparse.CreateConnection) error {
	text, redacted := "", ""
	if createSQL != nil {
		text, redacted = createSQL.String(), sqlparse.RedactAllLiterals(createSQL)
	}
	now := c.now(ctx)
	owner := c.actor(ctx).owner()
	if _, err := tx.ExecContext(ctx, `INSERT INTO mz_connections (id, name, type, owner, create_sql, redacted_create_sql, created_at, updated_at, owner_id, privileges)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, name, string(typ), c.opts.Owner, text, redacted, now, now, owner, newPrivileges(owner)); err != nil {
		return fmt.Errorf("insert connection: %w", err)
	}
	return c.audit(ctx, tx, "create", sqlparse.ObjectConnection, map[string]string{"id": id, "name": name, "type": string(typ)})
}

// createAWS writes a new AWS connection: its rows, its external ID and
// trust policy when it assumes a role, and its create_sql.
func (c *Executor) createAWS(ctx context.Context, tx Tx, id string, s *sqlparse.CreateConnection, res *Result) error {
	var row awsRow
	if err := c.applyAWSOptions(ctx, tx, id, &row, s.Options, true); err != nil {
		return err
	}
	if row.has(connection.AssumeRoleARN) {
		row.externalID = null(c.newExternalID(ctx))
		c.fillTrust(&row)
		if c.principal == nil {
			res.Notices = append(res.Notices, "no principal is configured: conncat assumes the role with its ambient AWS credentials, "+
				"so the role's trust policy must name that identity (principal and example_trust_policy are NULL)")
		}
	}
	// create_sql comes from the row as it will be stored, exactly as
	// rewriteCreateSQL would rebuild it, without reading it back.
	opts, err := awsOptions(ctx, tx, &row)
	if err != nil {
		return err
	}
	created := &sqlparse.CreateConnection{Name: sqlparse.Name{Value: s.Name.Value}, Type: s.Type, Options: opts}
	if err := c.insertConnection(ctx, tx, id, s.Name.Value, s.Type, created); err != nil {
		return err
	}
	// The external ID lives in the row while the connection assumes a
	// role; conncat_external_ids keeps it only once the row stops showing
	// it (see applyAWSOptions): two pages fewer for every CREATE.
	return insertAWSRow(ctx, tx, id, &row)
}

// fillTrust sets principal and example_trust_policy from the catalog's principal.
func (c *Executor) fillTrust(row *awsRow) {
	row.principal, row.trustPolicy = sql.NullString{}, sql.NullString{}
	if c.principal == nil || !row.externalID.Valid {
		return
	}
	row.principal = null(c.principal.String())
	row.trustPolicy = null(TrustPolicy(row.principal.String, row.externalID.String, c.opts.SessionIdentity != ""))
}

// externalIDFor returns the external ID of a connection that assumes a
// role again (the one it had before it switched to static keys: the
// customer's trust policy names it) or, the first time, a new one, which
// it then keeps until DROP.
func (c *Executor) externalIDFor(ctx context.Context, tx Tx, id string) (sql.NullString, error) {
	var externalID string
	err := tx.QueryRowContext(ctx, `SELECT external_id FROM conncat_external_ids WHERE connection_id = ?`, id).Scan(&externalID)
	switch {
	case err == nil:
		return null(externalID), nil
	case !errors.Is(err, sql.ErrNoRows):
		return sql.NullString{}, fmt.Errorf("read external id: %w", err)
	}
	return null(c.newExternalID(ctx)), nil
}

// rememberExternalID keeps the external ID of a connection that stops
// assuming a role, for when it assumes one again. Catalogs written by
// earlier versions kept every connection's external ID there from its
// CREATE: such a row is already there, and stays as it is.
func rememberExternalID(ctx context.Context, tx Tx, id, externalID string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO conncat_external_ids (connection_id, external_id) VALUES (?, ?)
		ON CONFLICT DO NOTHING`, id, externalID); err != nil {
		return fmt.Errorf("record external id: %w", err)
	}
	return nil
}

// newUUID is the source of external IDs; only tests that need two
// catalogs with identical rows (export_test.go) replace it.
var newUUID = uuid.NewV7

// newExternalID generates an external ID: a UUIDv7 after the configured
// prefix. Version 7 begins with the time, so new IDs land at the end of
// the external_id index instead of on a random page of it (with v4, CREATE
// CONNECTION slowed as the catalog grew); its 74 random bits keep it
// unguessable, though AWS does not treat external IDs as secrets.
func (c *Executor) newExternalID(ctx context.Context) string {
	if pinned, ok := ctx.Value(pinnedExternalID{}).(string); ok && pinned != "" {
		return pinned // the one a WITH (VALIDATE) dry run generated and checked
	}
	return tapeOf(ctx).externalID(func() string {
		id, err := newUUID()
		if err != nil {
			// Only when the system's random source fails; v4 needs it too.
			panic(fmt.Sprintf("catalog: generate external id: %v", err))
		}
		return c.opts.ExternalIDPrefix + id.String()
	})
}

// TrustPolicy is the policy a customer attaches to their role: it lets the
// principal assume the role only when it presents the external ID. With
// identity, it also lets the sessions say who asked (a source identity and
// session tags), which AWS refuses unless the trust policy allows it.
func TrustPolicy(principal, externalID string, identity bool) string {
	type condition struct {
		StringEquals map[string]string `json:"StringEquals"`
	}
	type statement struct {
		Effect    string            `json:"Effect"`
		Principal map[string]string `json:"Principal"`
		Action    any               `json:"Action"`
		Condition condition         `json:"Condition"`
	}
	var action any = "sts:AssumeRole"
	if identity {
		action = []string{"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"}
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{"2012-10-17", []statement{{
		Effect:    "Allow",
		Principal: map[string]string{"AWS": principal},
		Action:    action,
		Condition: condition{StringEquals: map[string]string{"sts:ExternalId": externalID}},
	}}}
	b, _ := json.Marshal(doc) // only strings: cannot fail
	return string(b)
}

// applyAWSOptions checks a complete option set against every rule and
// writes it into row, resolving secret names. creating is false for ALTER,
// where an inline secret that was not set again keeps its sealed value.
func (c *Executor) applyAWSOptions(ctx context.Context, tx Tx, id string, row *awsRow, opts sqlparse.Options, creating bool) error {
	if err := checkAWSOptionSet(opts); err != nil {
		return err
	}
	*row = awsRow{principal: row.principal, externalID: row.externalID, trustPolicy: row.trustPolicy,
		options: map[connection.Option]storedOption{}, secretNames: map[string]string{}}
	for _, o := range opts {
		v, err := c.storeOption(ctx, tx, id, row, o, creating)
		if err != nil {
			return err
		}
		row.options[o.Name] = v
	}
	if !creating {
		// A new connection has a new ID (IDs are never reused), so only
		// ALTER has old sealed values to clear.
		if err := dropUnusedSealedValues(ctx, tx, id, row); err != nil {
			return err
		}
	}
	if !row.has(connection.AssumeRoleARN) {
		if row.externalID.Valid {
			if err := rememberExternalID(ctx, tx, id, row.externalID.String); err != nil {
				return err
			}
		}
		row.externalID, row.principal, row.trustPolicy = sql.NullString{}, sql.NullString{}, sql.NullString{}
	}
	return recordSecretDependencies(ctx, tx, id, row, creating)
}

// checkAWSOptionSet applies the rules about the options together.
func checkAWSOptionSet(opts sqlparse.Options) error {
	if err := connection.CheckAuthForm(opts.Has); err != nil {
		return sqlparse.ValueError(firstPos(opts), "", err)
	}
	if region, ok := opts.Get(connection.Region); ok && !opts.Has(connection.Endpoint) {
		if err := connection.CheckAWSRegion(region.String); err != nil {
			return sqlparse.ValueError(region.ValuePos, connection.Region, err)
		}
	}
	return nil
}

// storeOption checks one option against the catalog's own rules (its
// endpoint policy, its principal) and turns it into its stored form:
// a secret's name into its ID, an inline secret into a sealed value.
func (c *Executor) storeOption(ctx context.Context, tx Tx, id string, row *awsRow, o sqlparse.Option, creating bool) (storedOption, error) {
	def, ok := connection.LookupOption(o.Name)
	if !ok || def.Scope != connection.ScopeAWS {
		return storedOption{}, errorf(sqlstate.SyntaxError, o.Pos, "option %s is not valid for an AWS connection", o.Name)
	}
	switch o.Kind {
	case sqlparse.ValueSecretRef:
		sid, err := existingSecretID(ctx, tx, o)
		if err != nil {
			return storedOption{}, err
		}
		row.secretNames[sid] = o.SecretRef.Value
		return storedOption{secretID: sid}, nil
	case sqlparse.ValueSecret:
		// The parser refuses an empty inline secret, so an empty value can
		// only be the stored one reloaded by ALTER: it stays sealed.
		if o.Secret.Unredacted() != "" || creating {
			if err := c.storeValue(ctx, tx, sealedValueID(id, def), o.Secret.Unredacted()); err != nil {
				return storedOption{}, err
			}
		}
		return storedOption{text: sqlparse.Redacted}, nil
	case sqlparse.ValueDuration:
		// The only duration is a role session's: a jump role's chain
		// limits it to an hour.
		if c.principal != nil && c.principal.Kind == "role" {
			if err := connection.CheckChainedDuration(o.Duration); err != nil {
				return storedOption{}, sqlparse.ValueError(o.ValuePos, o.Name, err)
			}
		}
		return storedOption{seconds: int64(o.Duration / time.Second)}, nil
	}
	if def.Endpoint {
		if err := connection.CheckEndpoint(o.String, c.opts.Endpoints); err != nil {
			return storedOption{}, sqlparse.ValueError(o.ValuePos, o.Name, err)
		}
	}
	return storedOption{text: o.String}, nil
}

// existingSecretID is the ID of the secret an option references, or a
// 42704 pointing at its name.
func existingSecretID(ctx context.Context, tx Tx, o sqlparse.Option) (string, error) {
	sid, err := secretID(ctx, tx, o.SecretRef.Value)
	if err != nil {
		return "", err
	}
	if sid == "" {
		return "", errorf(sqlstate.UndefinedObject, o.ValuePos+len("SECRET "), "secret %q does not exist", o.SecretRef.Value).
			WithHint(fmt.Sprintf("Create it first: CREATE SECRET %s AS '...'.", sqlparse.QuoteIdent(o.SecretRef.Value)))
	}
	return sid, nil
}

// dropUnusedSealedValues deletes the sealed inline secrets that row no
// longer holds (a SESSION TOKEN dropped, or now referenced as a SECRET).
func dropUnusedSealedValues(ctx context.Context, tx Tx, id string, row *awsRow) error {
	for _, d := range connection.Options {
		if v, ok := row.options[d.Name]; d.Secret != connection.SecretSealed || (ok && v.secretID == "") {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM conncat_secret_values WHERE id = ?`, sealedValueID(id, d)); err != nil {
			return fmt.Errorf("delete sealed %s: %w", d.Name, err)
		}
	}
	return nil
}

// recordSecretDependencies makes the connection depend on exactly the
// secrets its row references.
func recordSecretDependencies(ctx context.Context, tx Tx, id string, row *awsRow, creating bool) error {
	if !creating {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mz_object_dependencies WHERE object_id = ?`, id); err != nil {
			return fmt.Errorf("reset dependencies: %w", err)
		}
	}
	for _, d := range connection.Options {
		sid := row.options[d.Name].secretID
		if sid == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mz_object_dependencies (object_id, referenced_object_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, sid); err != nil {
			return fmt.Errorf("record dependency: %w", err)
		}
	}
	return nil
}

// setS3 writes an S3 connection's row and its dependency on the AWS connection.
func (c *Executor) setS3(ctx context.Context, tx Tx, id string, opts sqlparse.Options, using sqlparse.Name, creating bool) error {
	o, ok := opts.Get(connection.Prefix)
	if !ok {
		return errorf(sqlstate.SyntaxError, firstPos(opts), "an S3 connection requires PREFIX")
	}
	for _, other := range opts {
		if other.Name != connection.Prefix {
			return errorf(sqlstate.SyntaxError, other.Pos, "option %s is not valid for an S3 connection", other.Name).
				WithHint("Set it on the AWS connection that this connection uses.")
		}
	}
	u, err := connection.ParseS3URL(o.String)
	if err != nil {
		return sqlparse.ValueError(o.ValuePos, connection.Prefix, err)
	}
	aws, err := lookupConnection(ctx, tx, using.Value)
	if err != nil {
		return err
	}
	if aws == nil {
		return noSuch(sqlparse.ObjectConnection, using.Value, using.Pos)
	}
	if aws.typ != sqlparse.ConnectionAWS {
		return errorf(sqlstate.WrongObjectType, using.Pos, "connection %q is not an AWS connection", using.Value)
	}
	if creating {
		_, err = tx.ExecContext(ctx, `INSERT INTO mz_s3_connections (id, aws_connection_id, bucket, prefix) VALUES (?, ?, ?, ?)`, id, aws.id, u.Bucket, u.Prefix)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE mz_s3_connections SET bucket = ?, prefix = ? WHERE id = ?`, u.Bucket, u.Prefix, id)
	}
	if err != nil {
		return fmt.Errorf("write s3 connection: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO mz_object_dependencies (object_id, referenced_object_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, aws.id)
	return err
}

// statementFor rebuilds the CREATE statement of a stored connection.
func statementFor(ctx context.Context, q Tx, id string) (*sqlparse.CreateConnection, error) {
	var name, typ string
	if err := q.QueryRowContext(ctx, `SELECT name, type FROM mz_connections WHERE id = ?`, id).Scan(&name, &typ); err != nil {
		return nil, fmt.Errorf("load connection %s: %w", id, err)
	}
	stmt := &sqlparse.CreateConnection{Name: sqlparse.Name{Value: name}, Type: sqlparse.ConnectionType(typ)}
	switch stmt.Type {
	case sqlparse.ConnectionAWS:
		row, err := loadAWSRow(ctx, q, id)
		if err != nil {
			return nil, err
		}
		if stmt.Options, err = awsOptions(ctx, q, row); err != nil {
			return nil, err
		}
	case sqlparse.ConnectionS3:
		var awsName, bucket, prefix string
		if err := q.QueryRowContext(ctx, `SELECT c.name, s.bucket, s.prefix FROM mz_s3_connections s JOIN mz_connections c ON c.id = s.aws_connection_id WHERE s.id = ?`, id).
			Scan(&awsName, &bucket, &prefix); err != nil {
			return nil, fmt.Errorf("load s3 connection %s: %w", id, err)
		}
		stmt.Options = sqlparse.Options{{Name: connection.Prefix, Kind: sqlparse.ValueString, String: connection.S3URL{Bucket: bucket, Prefix: prefix}.String()}}
		stmt.UsingAWS = &sqlparse.Name{Value: awsName}
	}
	return stmt, nil
}

// rewriteCreateSQL regenerates create_sql and redacted_create_sql from the
// stored rows, after any change to the connection or to a name it refers to.
func (c *Executor) rewriteCreateSQL(ctx context.Context, tx Tx, id string) error {
	stmt, err := statementFor(ctx, tx, id)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE mz_connections SET create_sql = ?, redacted_create_sql = ? WHERE id = ?`,
		stmt.String(), sqlparse.RedactAllLiterals(stmt), id)
	if err != nil {
		return fmt.Errorf("write create_sql: %w", err)
	}
	return nil
}

func (c *Executor) alterConnection(ctx context.Context, tx Tx, s *sqlparse.AlterConnection, res *Result) error {
	conn, err := lookupConnection(ctx, tx, s.Name.Value)
	if err != nil {
		return err
	}
	if conn == nil {
		if s.IfExists {
			res.Notices = append(res.Notices, fmt.Sprintf("connection %q does not exist, skipping", s.Name.Value))
			return nil
		}
		return noSuch(sqlparse.ObjectConnection, s.Name.Value, s.Name.Pos)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE mz_connections SET updated_at = ? WHERE id = ?`, c.now(ctx), conn.id); err != nil {
		return fmt.Errorf("update connection: %w", err)
	}
	details := map[string]string{"id": conn.id, "name": s.Name.Value}
	if s.RenameTo != nil {
		details["new_name"] = s.RenameTo.Value
	}
	if err := c.audit(ctx, tx, "alter", sqlparse.ObjectConnection, details); err != nil {
		return err
	}
	if s.RenameTo != nil {
		// Published like any change: what was kept by the old name (a
		// token's config) must not outlive it.
		res.Changed = append(res.Changed, conn.id)
		return c.renameConnection(ctx, tx, conn, *s.RenameTo)
	}
	stmt, err := statementFor(ctx, tx, conn.id)
	if err != nil {
		return err
	}
	opts := alteredOptions(stmt.Options, s, res)
	switch conn.typ {
	case sqlparse.ConnectionAWS:
		if err := c.alterAWS(ctx, tx, conn.id, opts, res); err != nil {
			return err
		}
	case sqlparse.ConnectionS3:
		if err := c.setS3(ctx, tx, conn.id, opts, *stmt.UsingAWS, false); err != nil {
			return err
		}
		res.Changed = append(res.Changed, conn.id)
	}
	return c.rewriteCreateSQL(ctx, tx, conn.id)
}

// renameConnection renames a connection and rewrites the create_sql that
// names it: its own, and that of the S3 connections using it.
func (c *Executor) renameConnection(ctx context.Context, tx Tx, conn *connRef, to sqlparse.Name) error {
	other, err := lookupConnection(ctx, tx, to.Value)
	if err != nil {
		return err
	}
	if other != nil && other.id != conn.id {
		return errorf(sqlstate.DuplicateObject, to.Pos, "connection %q already exists", to.Value)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE mz_connections SET name = ? WHERE id = ?`, to.Value, conn.id); err != nil {
		return fmt.Errorf("rename connection: %w", err)
	}
	deps, err := dependents(ctx, tx, conn.id)
	if err != nil {
		return err
	}
	for _, id := range append([]string{conn.id}, ids(deps)...) {
		if err := c.rewriteCreateSQL(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// alteredOptions applies an ALTER's SET, DROP and RESET actions to the
// stored options, noting each DROP or RESET of an option that is not set.
func alteredOptions(stored sqlparse.Options, s *sqlparse.AlterConnection, res *Result) sqlparse.Options {
	opts := stored
	// Stored options have no source position: errors about them point at
	// the name of the connection being altered.
	for i := range opts {
		opts[i].Pos, opts[i].ValuePos = s.Name.Pos, s.Name.Pos
	}
	for _, a := range s.Actions {
		var kept sqlparse.Options
		for _, o := range opts {
			if o.Name != a.Option.Name {
				kept = append(kept, o)
			}
		}
		if a.Kind == sqlparse.AlterSet {
			kept = append(kept, a.Option)
		} else if len(kept) == len(opts) {
			res.Notices = append(res.Notices, fmt.Sprintf("option %s is not set on connection %q, skipping", a.Option.Name, s.Name.Value))
		}
		opts = kept
	}
	return opts
}

// alterAWS stores an AWS connection's new option set, keeping its external
// ID (or giving it one when it starts assuming a role), and marks it and
// the S3 connections using it changed.
func (c *Executor) alterAWS(ctx context.Context, tx Tx, id string, opts sqlparse.Options, res *Result) error {
	row, err := loadAWSRow(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := c.applyAWSOptions(ctx, tx, id, row, opts, false); err != nil {
		return err
	}
	if row.has(connection.AssumeRoleARN) && !row.externalID.Valid {
		if row.externalID, err = c.externalIDFor(ctx, tx, id); err != nil {
			return err
		}
	}
	c.fillTrust(row)
	if err := updateAWSRow(ctx, tx, id, row); err != nil {
		return err
	}
	deps, err := dependents(ctx, tx, id)
	if err != nil {
		return err
	}
	res.Changed = append(append(res.Changed, id), ids(deps)...)
	return nil
}

type depRef struct {
	id, name string
}

func ids(ds []depRef) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.id
	}
	return out
}

// dependents lists the objects that reference id directly.
func dependents(ctx context.Context, q Tx, id string) ([]depRef, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.name FROM mz_object_dependencies d JOIN mz_connections c ON c.id = d.object_id
		WHERE d.referenced_object_id = ? ORDER BY c.name`, id)
	if err != nil {
		return nil, fmt.Errorf("list dependents: %w", err)
	}
	defer rows.Close()
	var out []depRef
	for rows.Next() {
		var d depRef
		if err := rows.Scan(&d.id, &d.name); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// dependentsClosure lists every object that depends on id, directly or not,
// dependents after what they depend on.
func dependentsClosure(ctx context.Context, q Tx, id string) ([]depRef, error) {
	var out []depRef
	seen := map[string]bool{id: true}
	queue := []string{id}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		ds, err := dependents(ctx, q, next)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if !seen[d.id] {
				seen[d.id] = true
				out = append(out, d)
				queue = append(queue, d.id)
			}
		}
	}
	return out, nil
}

func (c *Executor) drop(ctx context.Context, tx Tx, s *sqlparse.Drop, res *Result) error {
	var victims []victim
	for _, n := range s.Names {
		more, err := dropVictims(ctx, tx, s, n, res)
		if err != nil {
			return err
		}
		victims = append(victims, more...)
	}
	done := map[string]bool{}
	for _, v := range victims {
		if done[v.id] {
			continue
		}
		done[v.id] = true
		if err := dropObject(ctx, tx, v.id); err != nil {
			return err
		}
		if err := c.audit(ctx, tx, "drop", v.kind, map[string]string{"id": v.id, "name": v.name}); err != nil {
			return err
		}
		res.Changed = append(res.Changed, v.id)
	}
	return nil
}

// dropVictims is what dropping the object named n takes with it, its
// dependents first (nothing may ever reference a dropped object); none
// for a missing object under IF EXISTS. Without CASCADE, dependents not
// named in the same statement refuse the DROP.
func dropVictims(ctx context.Context, tx Tx, s *sqlparse.Drop, n sqlparse.Name, res *Result) ([]victim, error) {
	kind := strings.ToLower(string(s.Kind))
	id, err := objectID(ctx, tx, s.Kind, n.Value)
	switch {
	case err != nil:
		return nil, err
	case id == "" && s.IfExists:
		res.Notices = append(res.Notices, fmt.Sprintf("%s %q does not exist, skipping", kind, n.Value))
		return nil, nil
	case id == "":
		return nil, noSuch(s.Kind, n.Value, n.Pos)
	}
	deps, err := dependentsClosure(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if !s.Cascade {
		var blocking []string
		for _, d := range deps {
			if !namedIn(s, d.name) { // dropping a dependent in the same statement is fine
				blocking = append(blocking, d.name)
			}
		}
		if len(blocking) > 0 {
			return nil, errorf(sqlstate.DependentObjects, n.Pos, "cannot drop %s %q: still depended upon by connection %s", kind, n.Value, quoteList(blocking)).
				WithHint(dependentsHint(s.Kind, n.Value, blocking))
		}
	}
	var victims []victim
	for i := len(deps) - 1; i >= 0; i-- {
		victims = append(victims, victim{deps[i].id, deps[i].name, sqlparse.ObjectConnection})
		if s.Cascade {
			res.Notices = append(res.Notices, fmt.Sprintf("drop cascades to connection %q", deps[i].name))
		}
	}
	return append(victims, victim{id, n.Value, s.Kind}), nil
}

// objectID is the ID of the secret or connection called name; "" when
// there is none.
func objectID(ctx context.Context, tx Tx, kind sqlparse.ObjectKind, name string) (string, error) {
	if kind == sqlparse.ObjectSecret {
		return secretID(ctx, tx, name)
	}
	r, err := lookupConnection(ctx, tx, name)
	if r == nil || err != nil {
		return "", err
	}
	return r.id, nil
}

// dependentsHint says the two ways out of a DROP that others depend on,
// naming them: change them first, or drop them too.
func dependentsHint(kind sqlparse.ObjectKind, name string, blocking []string) string {
	quoted := make([]string, len(blocking))
	for i, b := range blocking {
		quoted[i] = sqlparse.QuoteIdent(b)
	}
	list := strings.Join(quoted, ", ")
	change := "DROP CONNECTION " + list + " first"
	if kind == sqlparse.ObjectSecret {
		change = "ALTER CONNECTION " + quoted[0] + " to use another secret first"
	}
	return fmt.Sprintf("%s, or DROP %s %s CASCADE to drop %s too.", change, kind, sqlparse.QuoteIdent(name), list)
}

// victim is an object a DROP removes.
type victim struct {
	id, name string
	kind     sqlparse.ObjectKind
}

func namedIn(s *sqlparse.Drop, name string) bool {
	if s.Kind != sqlparse.ObjectConnection {
		return false
	}
	for _, n := range s.Names {
		if n.Value == name {
			return true
		}
	}
	return false
}

// dropObject removes a secret or connection and everything keyed by it.
// The caller has checked that nothing still depends on it.
func dropObject(ctx context.Context, tx Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mz_object_dependencies WHERE object_id = ? OR referenced_object_id = ?`, id, id); err != nil {
		return fmt.Errorf("drop %s: %w", id, err)
	}
	for _, q := range []string{
		`DELETE FROM conncat_secret_values WHERE id = ?`,
		`DELETE FROM mz_s3_connections WHERE id = ?`,
		`DELETE FROM mz_aws_connections WHERE id = ?`,
		`DELETE FROM mz_connection_validations WHERE connection_id = ?`,
		`DELETE FROM mz_connections WHERE id = ?`,
		`DELETE FROM mz_secrets WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("drop %s: %w", id, err)
		}
	}
	for _, d := range connection.Options {
		if d.Secret != connection.SecretSealed {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM conncat_secret_values WHERE id = ?`, sealedValueID(id, d)); err != nil {
			return fmt.Errorf("drop %s: %w", id, err)
		}
	}
	return nil
}

func firstPos(opts sqlparse.Options) int {
	if len(opts) > 0 {
		return opts[0].Pos
	}
	return -1
}
