package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// authorize refuses, with 42501, a DDL statement the role may not run,
// before it changes anything: ALTER and DROP need ownership (DROP ...
// CASCADE of everything it drops), and naming a secret or an AWS
// connection in CREATE or ALTER CONNECTION needs USAGE on it. A name that
// does not exist is left to the statement, which says so.
func (c *Executor) authorize(ctx context.Context, tx Tx, stmt sqlparse.Statement) error {
	a := c.actor(ctx)
	if a.super {
		return nil
	}
	if a.role == "" {
		// An empty role cannot own what it would create, and is most
		// likely an engine that lost its user's role: never a superuser.
		return errorf(sqlstate.InvalidName, stmt.Pos(), "the role running this statement has an empty name").
			WithHint("Give the engine's role with WithRole(ctx, role), or no role to act as a superuser.")
	}
	switch s := stmt.(type) {
	case *sqlparse.AlterSecret:
		return a.checkOwned(ctx, tx, sqlparse.ObjectSecret, s.Name)
	case *sqlparse.CreateConnection:
		if s.UsingAWS != nil {
			if err := a.checkUsable(ctx, tx, sqlparse.ObjectConnection, *s.UsingAWS); err != nil {
				return err
			}
		}
		return a.checkSecretsUsable(ctx, tx, s.Options)
	case *sqlparse.AlterConnection:
		if err := a.checkOwned(ctx, tx, sqlparse.ObjectConnection, s.Name); err != nil {
			return err
		}
		for _, act := range s.Actions {
			if err := a.checkSecretsUsable(ctx, tx, sqlparse.Options{act.Option}); err != nil {
				return err
			}
		}
	case *sqlparse.Drop:
		return a.checkDrop(ctx, tx, s)
	}
	return nil
}

// mayUseConnection is 42501 unless the role running ctx may use the
// connection id (read in q): for SHOW, Describe, VALIDATE and the data
// plane. A superuser (or a call without a role) costs no read.
func (c *Executor) mayUseConnection(ctx context.Context, q Tx, id string, pos int) error {
	a := c.actor(ctx)
	if a.super {
		return nil
	}
	o, err := lookupOwned(ctx, q, sqlparse.ObjectConnection, true, id)
	if err != nil || o == nil {
		return err
	}
	return a.mustUse(o, pos)
}

// usableRows keeps the rows of SHOW CONNECTIONS or SHOW SECRETS the role
// may use; each row ends in its owner_id and privileges, which go.
func (c *Executor) usableRows(ctx context.Context, kind sqlparse.ObjectKind, res *Result) {
	a := c.actor(ctx)
	n := len(res.Columns) - 2
	res.Columns = res.Columns[:n]
	kept := res.Rows[:0]
	for _, row := range res.Rows {
		o := &ownedObject{kind: kind, owner: nullString(row[n]), privileges: nullString(row[n+1])}
		if a.mayUse(o) {
			kept = append(kept, row[:n])
		}
	}
	res.Rows = kept
}

func nullString(v any) sql.NullString {
	s, ok := v.(string)
	return sql.NullString{String: s, Valid: ok}
}

func (a actor) checkOwned(ctx context.Context, tx Tx, kind sqlparse.ObjectKind, name sqlparse.Name) error {
	o, err := lookupOwned(ctx, tx, kind, false, name.Value)
	if err != nil || o == nil {
		return err
	}
	return a.mustOwn(o, name.Pos)
}

func (a actor) checkUsable(ctx context.Context, tx Tx, kind sqlparse.ObjectKind, name sqlparse.Name) error {
	o, err := lookupOwned(ctx, tx, kind, false, name.Value)
	if err != nil || o == nil {
		return err
	}
	return a.mustUse(o, name.Pos)
}

func (a actor) checkSecretsUsable(ctx context.Context, tx Tx, opts sqlparse.Options) error {
	for _, o := range opts {
		if o.Kind == sqlparse.ValueSecretRef {
			if err := a.checkUsable(ctx, tx, sqlparse.ObjectSecret, o.SecretRef); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkDrop: every object named, and with CASCADE every connection that
// depends on one, must be the role's.
func (a actor) checkDrop(ctx context.Context, tx Tx, s *sqlparse.Drop) error {
	for _, name := range s.Names {
		o, err := lookupOwned(ctx, tx, s.Kind, false, name.Value)
		if err != nil || o == nil {
			if err != nil {
				return err
			}
			continue
		}
		if err := a.mustOwn(o, name.Pos); err != nil {
			return err
		}
		if !s.Cascade {
			continue
		}
		deps, err := dependentsClosure(ctx, tx, o.id)
		if err != nil {
			return err
		}
		for _, d := range deps {
			dep, err := lookupOwned(ctx, tx, sqlparse.ObjectConnection, true, d.id)
			if err != nil {
				return err
			}
			if dep != nil && !a.owns(dep) {
				return errorf(sqlstate.InsufficientPrivilege, name.Pos, "must be owner of connection %s, which depends on %s %s",
					sqlparse.QuoteIdent(dep.name), strings.ToLower(string(s.Kind)), sqlparse.QuoteIdent(o.name)).
					WithHint("DROP ... CASCADE drops what depends on the object too, so it needs ownership of all of it; ask " + ownerName(dep) + " to drop or change it first.")
			}
		}
	}
	return nil
}

func ownerName(o *ownedObject) string {
	if !o.owner.Valid {
		return "a superuser"
	}
	return "its owner " + sqlparse.QuoteIdent(o.owner.String)
}

// grant runs GRANT or REVOKE USAGE: on the objects named, or on every one
// of the kind the role owns (every one, for a superuser).
func (c *Executor) grant(ctx context.Context, tx Tx, s *sqlparse.Grant, res *Result) error {
	a := c.actor(ctx)
	objects, err := c.grantTargets(ctx, tx, a, s)
	if err != nil {
		return err
	}
	for _, o := range objects {
		if err := c.grantOn(ctx, tx, a, s, o); err != nil {
			return err
		}
		if s.Revoke && o.kind == sqlparse.ObjectConnection {
			res.Changed = append(res.Changed, o.id) // configs handed out check again
		}
	}
	return nil
}

func (c *Executor) grantTargets(ctx context.Context, tx Tx, a actor, s *sqlparse.Grant) ([]*ownedObject, error) {
	var objects []*ownedObject
	if s.All {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM `+tableOf(s.Kind)+` ORDER BY id`)
		if err != nil {
			return nil, fmt.Errorf("grant: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			if o, err := lookupOwned(ctx, tx, s.Kind, true, id); err != nil {
				return nil, err
			} else if o != nil && a.owns(o) {
				objects = append(objects, o)
			}
		}
		return objects, nil
	}
	for _, name := range s.Names {
		o, err := lookupOwned(ctx, tx, s.Kind, false, name.Value)
		if err != nil {
			return nil, err
		}
		if o == nil {
			return nil, noSuch(s.Kind, name.Value, name.Pos)
		}
		if err := a.mustOwn(o, name.Pos); err != nil {
			return nil, err
		}
		objects = append(objects, o)
	}
	return objects, nil
}

// grantOn changes one object's privileges list and records each grantee's
// grant or revoke.
func (c *Executor) grantOn(ctx context.Context, tx Tx, a actor, s *sqlparse.Grant, o *ownedObject) error {
	items := parseACL(o.privileges.String)
	grantor := a.role
	if o.owner.Valid {
		grantor = o.owner.String // as PostgreSQL records a superuser's grant
	}
	event := "grant"
	if s.Revoke {
		event = "revoke"
	}
	for _, g := range s.Grantees {
		grantee := g.Name.Value
		if g.Public {
			grantee = ""
		}
		items = changeACL(items, grantee, grantor, o.owner.String, s.Revoke)
		shown := grantee
		if g.Public {
			shown = "PUBLIC"
		}
		if err := c.audit(ctx, tx, event, o.kind, map[string]string{"id": o.id, "name": o.name, "grantee": shown, "privileges": "USAGE"}); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE `+tableOf(o.kind)+` SET privileges = ? WHERE id = ?`, formatACL(items), o.id); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	return nil
}

// changeACL grants USAGE to grantee (replacing its earlier entries, so it
// appears once) or revokes every grant to it; the owner's own entry is
// never revoked.
func changeACL(items []aclItem, grantee, grantor, owner string, revoke bool) []aclItem {
	ownersOwn := func(it aclItem) bool { return it.grantee == owner && it.grantor == owner }
	out := items[:0:0]
	for _, it := range items {
		if it.grantee != grantee || revoke && ownersOwn(it) {
			out = append(out, it)
		}
	}
	if !revoke {
		out = append(out, aclItem{grantee: grantee, grantor: grantor})
	}
	return out
}

// alterOwner runs ALTER ... OWNER TO: the owner (or a superuser) gives the
// object to another role, which takes over the owner's own entry and the
// grants the old owner made.
func (c *Executor) alterOwner(ctx context.Context, tx Tx, s *sqlparse.AlterOwner, res *Result) error {
	a := c.actor(ctx)
	o, err := lookupOwned(ctx, tx, s.Kind, false, s.Name.Value)
	if err != nil {
		return err
	}
	kind := strings.ToLower(string(s.Kind))
	if o == nil {
		if s.IfExists {
			res.Notices = append(res.Notices, fmt.Sprintf("%s %q does not exist, skipping", kind, s.Name.Value))
			return nil
		}
		return noSuch(s.Kind, s.Name.Value, s.Name.Pos)
	}
	if err := a.mustOwn(o, s.Name.Pos); err != nil {
		return err
	}
	old, owner := o.owner, s.Owner.Value
	items := []aclItem{{grantee: owner, grantor: owner}}
	for _, it := range parseACL(o.privileges.String) {
		// An unowned object (NULL) has no owner's entry to drop: an
		// entry with an empty grantee is PUBLIC's.
		if old.Valid && it.grantee == old.String && it.grantor == old.String || it.grantee == owner {
			continue
		}
		if it.grantor == old.String { // the old owner's grants, or a no-role superuser's
			it.grantor = owner
		}
		items = append(items, it)
	}
	if s.Kind == sqlparse.ObjectConnection {
		res.Changed = append(res.Changed, o.id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE `+tableOf(s.Kind)+` SET owner_id = ?, privileges = ?, updated_at = ? WHERE id = ?`, owner, formatACL(items), c.now(ctx), o.id); err != nil {
		return fmt.Errorf("alter owner: %w", err)
	}
	return c.audit(ctx, tx, "alter", s.Kind, map[string]string{"id": o.id, "name": o.name, "old_owner_id": old.String, "new_owner_id": owner})
}
