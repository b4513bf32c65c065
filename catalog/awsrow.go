package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/sqlparse"
)

// storedOption is one option's value as mz_aws_connections holds it.
type storedOption struct {
	text     string // a literal; for a sealed secret, the Redacted marker
	seconds  int64  // a duration
	secretID string // a referenced secret
}

// awsRow is one row of mz_aws_connections. Its option columns come from
// connection.Options, so no statement here lists them by hand.
type awsRow struct {
	options map[connection.Option]storedOption
	// Derived from the role and the catalog's principal, never set by
	// a statement.
	principal, externalID, trustPolicy sql.NullString

	// secretNames maps the secret IDs this row refers to back to the names
	// the statement used, when known, so that create_sql can be written
	// without reading them back. Not a column.
	secretNames map[string]string
}

func (r *awsRow) has(o connection.Option) bool {
	_, ok := r.options[o]
	return ok
}

// text is a literal option's value, "" when it is not set.
func (r *awsRow) text(o connection.Option) string { return r.options[o].text }

// awsColumn is one option column: an option's literal value, or with
// secret set the ID of the secret it references.
type awsColumn struct {
	name   string
	def    connection.OptionDef
	secret bool
}

var optionColumns = func() []awsColumn {
	var cols []awsColumn
	for _, d := range connection.Options {
		if d.Column != "" {
			cols = append(cols, awsColumn{d.Column, d, false})
		}
		if d.SecretColumn != "" {
			cols = append(cols, awsColumn{d.SecretColumn, d, true})
		}
	}
	return cols
}()

// OptionColumn is a column of mz_aws_connections that the option table
// names: an option's literal value (Integer for a duration), or with
// Secret the ID of the secret the option references.
type OptionColumn struct {
	Name            string
	Integer, Secret bool
}

// OptionColumns lists the option table's columns in its order. Each store
// adds those a catalog lacks when it opens, after its numbered migrations
// (both the same way, at the end of the table), so that a new option's
// column needs no migration of its own.
func OptionColumns() []OptionColumn {
	out := make([]OptionColumn, len(optionColumns))
	for i, c := range optionColumns {
		out[i] = OptionColumn{Name: c.name, Integer: !c.secret && c.def.Value == connection.DurationValue, Secret: c.secret}
	}
	return out
}

// MissingOptionColumns runs query, which lists the names of
// mz_aws_connections' columns (each store has its own way to ask), and
// returns the option columns it lacks.
func MissingOptionColumns(ctx context.Context, q Tx, query string, args ...any) ([]OptionColumn, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read option columns: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		have[name] = true
	}
	var missing []OptionColumn
	for _, c := range OptionColumns() {
		if !have[c.Name] {
			missing = append(missing, c)
		}
	}
	return missing, rows.Err()
}

// awsColumns lists every column of mz_aws_connections but id, in the order
// of scan and values.
var awsColumns = func() string {
	names := make([]string, 0, len(optionColumns)+3)
	for _, c := range optionColumns {
		names = append(names, c.name)
	}
	return strings.Join(append(names, "principal", "external_id", "example_trust_policy"), ", ")
}()

// awsPlaceholders is one ? per column of awsColumns.
var awsPlaceholders = strings.TrimSuffix(strings.Repeat("?, ", len(optionColumns)+3), ", ")

func (c awsColumn) holdsSeconds() bool { return !c.secret && c.def.Value == connection.DurationValue }

// scan reads a row selected as awsColumns.
func (r *awsRow) scan(s interface{ Scan(...any) error }) error {
	targets, fill := r.scanTargets()
	if err := s.Scan(targets...); err != nil {
		return err
	}
	fill()
	return nil
}

// scanTargets are the Scan destinations of awsColumns, and the function
// that fills the row from them once scanned.
func (r *awsRow) scanTargets() ([]any, func()) {
	texts := make([]sql.NullString, len(optionColumns))
	seconds := make([]sql.NullInt64, len(optionColumns))
	args := make([]any, 0, len(optionColumns)+3)
	for i, c := range optionColumns {
		if c.holdsSeconds() {
			args = append(args, &seconds[i])
		} else {
			args = append(args, &texts[i])
		}
	}
	return append(args, &r.principal, &r.externalID, &r.trustPolicy), func() { r.fill(texts, seconds) }
}

func (r *awsRow) fill(texts []sql.NullString, seconds []sql.NullInt64) {
	r.options = map[connection.Option]storedOption{}
	for i, c := range optionColumns {
		v := r.options[c.def.Name]
		switch {
		case c.secret && texts[i].Valid:
			v.secretID = texts[i].String
		case seconds[i].Valid:
			v.seconds = seconds[i].Int64
		case texts[i].Valid && !c.secret:
			v.text = texts[i].String
		default:
			continue
		}
		r.options[c.def.Name] = v
	}
}

// values are the row's columns in the order of awsColumns.
func (r *awsRow) values() []any {
	out := make([]any, 0, len(optionColumns)+3)
	for _, c := range optionColumns {
		v, ok := r.options[c.def.Name]
		switch {
		case !ok || c.secret != (v.secretID != ""):
			out = append(out, nil)
		case c.secret:
			out = append(out, v.secretID)
		case c.holdsSeconds():
			out = append(out, v.seconds)
		default:
			out = append(out, v.text)
		}
	}
	return append(out, r.principal, r.externalID, r.trustPolicy)
}

func loadAWSRow(ctx context.Context, q Tx, id string) (*awsRow, error) {
	var row awsRow
	if err := row.scan(q.QueryRowContext(ctx, `SELECT `+awsColumns+` FROM mz_aws_connections WHERE id = ?`, id)); err != nil {
		return nil, fmt.Errorf("load aws connection %s: %w", id, err)
	}
	return &row, nil
}

func insertAWSRow(ctx context.Context, tx Tx, id string, row *awsRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO mz_aws_connections (id, `+awsColumns+`) VALUES (?, `+awsPlaceholders+`)`,
		append([]any{id}, row.values()...)...)
	if err != nil {
		return fmt.Errorf("insert aws connection: %w", err)
	}
	return nil
}

func updateAWSRow(ctx context.Context, tx Tx, id string, row *awsRow) error {
	_, err := tx.ExecContext(ctx, `UPDATE mz_aws_connections SET (`+awsColumns+`) = (`+awsPlaceholders+`) WHERE id = ?`,
		append(row.values(), id)...)
	if err != nil {
		return fmt.Errorf("update aws connection: %w", err)
	}
	return nil
}

// sealedValueID is where an option's inline secret is sealed, in
// conncat_secret_values beside the named secrets.
func sealedValueID(connID string, d connection.OptionDef) string { return connID + "/" + d.Column }

// awsOptions rebuilds the option list of a stored AWS connection, in
// canonical order. An inline secret comes back as an empty Secret: its
// value stays sealed.
func awsOptions(ctx context.Context, q Tx, row *awsRow) (sqlparse.Options, error) {
	var opts sqlparse.Options
	for _, d := range connection.Options {
		v, ok := row.options[d.Name]
		if !ok || d.Scope != connection.ScopeAWS {
			continue
		}
		o := sqlparse.Option{Name: d.Name}
		switch {
		case v.secretID != "":
			n, known := row.secretNames[v.secretID]
			var err error
			if !known {
				n, err = secretName(ctx, q, v.secretID)
			}
			if err != nil {
				return nil, fmt.Errorf("secret %s of %s: %w", v.secretID, d.Name, err)
			}
			o.Kind, o.SecretRef = sqlparse.ValueSecretRef, sqlparse.Name{Value: n}
		case d.Secret == connection.SecretSealed:
			o.Kind = sqlparse.ValueSecret
		case d.Value == connection.DurationValue:
			o.Kind, o.Duration = sqlparse.ValueDuration, time.Duration(v.seconds)*time.Second
		default:
			o.Kind, o.String = sqlparse.ValueString, v.text
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// spec is the row as a Spec with its literal values only: no secret is
// opened (the resolve query reads them; openResolved opens them).
func (r *awsRow) spec(id, name, principal string) connection.Spec {
	s := connection.Spec{ID: id, Name: name, Principal: principal, ExternalID: r.externalID.String}
	for _, d := range connection.Options {
		v, ok := r.options[d.Name]
		if ok && v.secretID == "" && d.Secret != connection.SecretSealed {
			d.SetField(&s, v.text, v.seconds)
		}
	}
	return s
}
