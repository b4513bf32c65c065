package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// Roles come from the engine: conncat manages no logins. The engine puts
// the role that runs a statement or a data-plane call in its context
// (WithRole); without one, the call acts as a superuser, as every call did
// before roles, so engines that never name a role keep working.

type roleKey struct{}

// WithRole returns ctx carrying role: statements and data-plane calls made
// with it act as that role.
func WithRole(ctx context.Context, role string) context.Context {
	return context.WithValue(ctx, roleKey{}, role)
}

// RoleFrom is the role ctx carries, and whether it carries one.
func RoleFrom(ctx context.Context) (string, bool) {
	r, ok := ctx.Value(roleKey{}).(string)
	return r, ok
}

// actor is who runs a call: a role, or nobody named (role ""), and
// whether it may do anything.
type actor struct {
	role  string
	super bool
}

func (c *Executor) actor(ctx context.Context) actor {
	role, ok := RoleFrom(ctx)
	if !ok {
		return actor{super: true}
	}
	return actor{role: role, super: slices.Contains(c.opts.Superusers, role)}
}

// owner is the owner a new object gets: the role that made it, or none
// (NULL) when no role was named.
func (a actor) owner() sql.NullString { return null(a.role) }

// tableOf is the table that holds objects of kind.
func tableOf(kind sqlparse.ObjectKind) string {
	if kind == sqlparse.ObjectSecret {
		return "mz_secrets"
	}
	return "mz_connections"
}

// ownedObject is what a privilege check needs of an object.
type ownedObject struct {
	kind       sqlparse.ObjectKind
	id, name   string
	owner      sql.NullString
	privileges sql.NullString
}

// lookupOwned reads an object's owner and privileges by name; nil when it
// does not exist.
func lookupOwned(ctx context.Context, q Tx, kind sqlparse.ObjectKind, byID bool, key string) (*ownedObject, error) {
	table, column := tableOf(kind), "name"
	if byID {
		column = "id"
	}
	o := &ownedObject{kind: kind}
	err := q.QueryRowContext(ctx, `SELECT id, name, owner_id, privileges FROM `+table+` WHERE `+column+` = ?`, key).
		Scan(&o.id, &o.name, &o.owner, &o.privileges)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", strings.ToLower(string(kind)), err)
	}
	return o, nil
}

// owns reports whether a may act as the object's owner.
func (a actor) owns(o *ownedObject) bool {
	return a.super || (o.owner.Valid && o.owner.String == a.role)
}

// mayUse reports whether a holds USAGE on the object: as its owner, by a
// grant to it, or by one to PUBLIC.
func (a actor) mayUse(o *ownedObject) bool {
	if a.owns(o) {
		return true
	}
	for _, item := range parseACL(o.privileges.String) {
		if item.grantee == "" || item.grantee == a.role {
			return true
		}
	}
	return false
}

// mustOwn is 42501 unless a owns o, in PostgreSQL's words.
func (a actor) mustOwn(o *ownedObject, pos int) error {
	if a.owns(o) {
		return nil
	}
	return errorf(sqlstate.InsufficientPrivilege, pos, "must be owner of %s %s", strings.ToLower(string(o.kind)), sqlparse.QuoteIdent(o.name)).
		WithHint(ownerHint(o))
}

// mustUse is 42501 unless a may use o.
func (a actor) mustUse(o *ownedObject, pos int) error {
	if a.mayUse(o) {
		return nil
	}
	return errorf(sqlstate.InsufficientPrivilege, pos, "permission denied for %s %s", strings.ToLower(string(o.kind)), sqlparse.QuoteIdent(o.name)).
		WithHint(fmt.Sprintf("Its owner can GRANT USAGE ON %s %s TO the role.", o.kind, sqlparse.QuoteIdent(o.name)))
}

func ownerHint(o *ownedObject) string {
	if !o.owner.Valid {
		return "It has no owner yet: a superuser can ALTER " + string(o.kind) + " " + sqlparse.QuoteIdent(o.name) + " OWNER TO a role."
	}
	return "Only its owner (" + sqlparse.QuoteIdent(o.owner.String) + ") or a superuser can do that."
}

// aclItem is one entry of a privileges list: USAGE granted to grantee
// ("" for PUBLIC) by grantor.
type aclItem struct{ grantee, grantor string }

// formatACL writes PostgreSQL's aclitem[] text form: {alice=U/alice,=U/alice}.
func formatACL(items []aclItem) sql.NullString {
	if len(items) == 0 {
		return sql.NullString{}
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = aclName(it.grantee) + "=U/" + aclName(it.grantor)
	}
	return sql.NullString{String: "{" + strings.Join(parts, ",") + "}", Valid: true}
}

// aclName quotes a role name as aclitem's text form does, when it holds
// anything but lower-case letters, digits and underscores.
func aclName(name string) string {
	plain := true // PUBLIC's empty name included
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			plain = false
		}
	}
	if plain {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// parseACL reads what formatACL wrote.
func parseACL(s string) []aclItem {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var items []aclItem
	for len(s) > 0 {
		grantee, rest := aclToken(s, '=')
		rest = strings.TrimPrefix(rest, "U/")
		grantor, rest := aclToken(rest, ',')
		items = append(items, aclItem{grantee: grantee, grantor: grantor})
		s = rest
	}
	return items
}

// aclToken reads a name, quoted or not, up to stop, and returns the rest
// after stop.
func aclToken(s string, stop byte) (string, string) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '"' {
				if i+1 < len(s) && s[i+1] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				rest := s[i+1:]
				return b.String(), strings.TrimPrefix(rest, string(stop))
			}
			b.WriteByte(s[i])
		}
		return b.String(), ""
	}
	if i := strings.IndexByte(s, stop); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// newPrivileges is a new object's list: its owner's own entry, as
// PostgreSQL shows an owner's implicit privileges; none without an owner.
func newPrivileges(owner sql.NullString) sql.NullString {
	if !owner.Valid {
		return sql.NullString{}
	}
	return formatACL([]aclItem{{grantee: owner.String, grantor: owner.String}})
}

// audit records an event in mz_audit_events, in the statement's
// transaction: details are the object's ID and name and what changed,
// never a value.
func (c *Executor) audit(ctx context.Context, tx Tx, event string, kind sqlparse.ObjectKind, details map[string]string) error {
	return auditRow(ctx, tx, event, strings.ToLower(string(kind)), details, null(c.actorRole(ctx)), c.now(ctx))
}

func auditRow(ctx context.Context, tx Tx, event, objectType string, details map[string]string, user sql.NullString, at string) error {
	text, _ := json.Marshal(details) // a map of strings always encodes
	// The next number in the same statement, so that PostgreSQL pipelines
	// it with the statement's other writes (the write lock is held). A
	// scalar subquery in VALUES, not INSERT … SELECT … FROM the same table,
	// which SQLite runs through a temporary table (it was 2.6× the cost of
	// the connection's own INSERT).
	if _, err := tx.ExecContext(ctx, `INSERT INTO mz_audit_events (id, event_type, object_type, details, "user", occurred_at)
		VALUES (coalesce((SELECT max(id) FROM mz_audit_events), 0) + 1, ?, ?, ?, ?, ?)`,
		event, objectType, string(text), user, at); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// UseEvent is a use of a connection to record in mz_audit_events: the
// data plane assuming its role (assume_role).
type UseEvent struct {
	Type    string
	Details map[string]string
	At      time.Time
	// User is the engine role the use was for, when known ("" for NULL).
	User string
}

// UseEventTypes are the audit events of use, which a retention prunes;
// the events of changes are the catalog's history and stay.
var UseEventTypes = []string{"validate", "assume_role"}

// RecordUse writes use events in one transaction, and with a retention
// removes use events older than it.
func (c *Executor) RecordUse(ctx context.Context, events []UseEvent, retention time.Duration) error {
	return c.store.Write(ctx, func(tx Tx) error {
		for _, e := range events {
			if err := auditRow(ctx, tx, e.Type, "connection", e.Details, null(e.User), e.At.UTC().Format(time.RFC3339Nano)); err != nil {
				return err
			}
		}
		if retention <= 0 {
			return nil
		}
		cutoff := c.opts.Now().Add(-retention).UTC().Format(time.RFC3339Nano)
		// The newest event stays whatever its age: numbers are max + 1, and
		// one given must never be given again (a reader going on from the
		// last number it saw would miss the event that took it over).
		if _, err := tx.ExecContext(ctx, `DELETE FROM mz_audit_events WHERE event_type IN (?, ?) AND occurred_at < ?
			AND id < (SELECT max(id) FROM mz_audit_events)`, UseEventTypes[0], UseEventTypes[1], cutoff); err != nil {
			return fmt.Errorf("audit retention: %w", err)
		}
		return nil
	})
}

func (c *Executor) actorRole(ctx context.Context) string { return c.actor(ctx).role }

type queryRoleKey struct{}

// QueryRole is the role whose rows a query may see, when the query runs
// for a role that is no superuser: the store then shows it only the
// connections and secrets it may use, and what belongs to them.
func QueryRole(ctx context.Context) (string, bool) {
	r, ok := ctx.Value(queryRoleKey{}).(string)
	return r, ok
}

// RoleMayUse reports whether role may use an object with this owner and
// privileges list (NULL as nil), by the same rule every check applies:
// the owner, a grant to the role, or one to PUBLIC. The SQLite store
// calls it from the views that filter a role's queries.
func RoleMayUse(role string, owner, privileges any) bool {
	o := &ownedObject{owner: nullString(owner), privileges: nullString(privileges)}
	return actor{role: role}.mayUse(o)
}
