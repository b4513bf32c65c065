package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// secretID returns the ID of the named secret, or "" when there is none.
func secretID(ctx context.Context, q Tx, name string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM mz_secrets WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func secretName(ctx context.Context, q Tx, id string) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, `SELECT name FROM mz_secrets WHERE id = ?`, id).Scan(&name)
	return name, err
}

func (c *Executor) createSecret(ctx context.Context, tx Tx, s *sqlparse.CreateSecret, res *Result) error {
	id, err := secretID(ctx, tx, s.Name.Value)
	if err != nil {
		return err
	}
	if id != "" {
		if s.IfNotExists {
			res.Notices = append(res.Notices, fmt.Sprintf("secret %q already exists, skipping", s.Name.Value))
			return nil
		}
		return errorf(sqlstate.DuplicateObject, s.Name.Pos, "secret %q already exists", s.Name.Value).
			WithHint("Use CREATE SECRET IF NOT EXISTS to skip it when it exists, or ALTER SECRET to change its value.")
	}
	if id, err = nextID(ctx, tx); err != nil {
		return err
	}
	now := c.now(ctx)
	owner := c.actor(ctx).owner()
	if _, err := tx.ExecContext(ctx, `INSERT INTO mz_secrets (id, name, created_at, updated_at, owner_id, privileges) VALUES (?, ?, ?, ?, ?, ?)`,
		id, s.Name.Value, now, now, owner, newPrivileges(owner)); err != nil {
		return fmt.Errorf("insert secret: %w", err)
	}
	if err := c.audit(ctx, tx, "create", sqlparse.ObjectSecret, map[string]string{"id": id, "name": s.Name.Value}); err != nil {
		return err
	}
	return c.storeValue(ctx, tx, id, s.Value.Unredacted())
}

func (c *Executor) alterSecret(ctx context.Context, tx Tx, s *sqlparse.AlterSecret, res *Result) error {
	id, err := secretID(ctx, tx, s.Name.Value)
	if err != nil {
		return err
	}
	if id == "" {
		if s.IfExists {
			res.Notices = append(res.Notices, fmt.Sprintf("secret %q does not exist, skipping", s.Name.Value))
			return nil
		}
		return noSuch(sqlparse.ObjectSecret, s.Name.Value, s.Name.Pos)
	}
	details := map[string]string{"id": id, "name": s.Name.Value}
	if s.RenameTo != nil {
		details["new_name"] = s.RenameTo.Value
	}
	if err := c.audit(ctx, tx, "alter", sqlparse.ObjectSecret, details); err != nil {
		return err
	}
	if s.RenameTo != nil {
		other, err := secretID(ctx, tx, s.RenameTo.Value)
		if err != nil {
			return err
		}
		if other != "" && other != id {
			return errorf(sqlstate.DuplicateObject, s.RenameTo.Pos, "secret %q already exists", s.RenameTo.Value)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mz_secrets SET name = ?, updated_at = ? WHERE id = ?`, s.RenameTo.Value, c.now(ctx), id); err != nil {
			return fmt.Errorf("rename secret: %w", err)
		}
		// create_sql names secrets: rewrite every connection that uses this one.
		deps, err := dependents(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := c.rewriteCreateSQL(ctx, tx, d.id); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE mz_secrets SET updated_at = ? WHERE id = ?`, c.now(ctx), id); err != nil {
		return fmt.Errorf("update secret: %w", err)
	}
	if err := c.storeValue(ctx, tx, id, s.Value.Unredacted()); err != nil {
		return err
	}
	// Credentials built from the old value are stale in every connection
	// that uses the secret, and in the S3 connections that use those.
	deps, err := dependentsClosure(ctx, tx, id)
	if err != nil {
		return err
	}
	for _, d := range deps {
		res.Changed = append(res.Changed, d.id)
	}
	return nil
}
