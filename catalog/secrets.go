package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// storeValue seals and stores (or replaces) a value under id, with the
// catalog's current key (see currentSealer).
func (c *Catalog) storeValue(ctx context.Context, tx *sql.Tx, id, value string) error {
	s, err := c.currentSealer(ctx, tx)
	if err != nil {
		return err
	}
	nonce, ct, err := s.seal(id, value)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO conncat_secret_values (id, nonce, ciphertext) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext`, id, nonce, ct)
	if err != nil {
		return fmt.Errorf("store sealed value: %w", err)
	}
	return nil
}

// loadValue opens the value stored under id.
func (c *Catalog) loadValue(ctx context.Context, q querier, id string) (string, error) {
	var nonce, ct []byte
	if err := q.QueryRowContext(ctx, `SELECT nonce, ciphertext FROM conncat_secret_values WHERE id = ?`, id).Scan(&nonce, &ct); err != nil {
		return "", fmt.Errorf("load sealed value %s: %w", id, err)
	}
	v, err := c.seal.Load().open(id, nonce, ct)
	if errors.Is(err, ErrKeyMismatch) {
		// Another handle may have rotated the key: reload ours and retry.
		s, rerr := c.reloadKey(ctx, q)
		if rerr != nil {
			return "", rerr
		}
		return s.open(id, nonce, ct)
	}
	return v, err
}

// currentSealer returns a sealer for the key the catalog is sealed under
// now, checked inside tx (which holds the write lock, so no rotation can
// land before it commits). The key check is sealed under the current key,
// and RotateKey re-seals it, so a sealer that opens it is current. If this
// handle's key was retired by a RotateKey elsewhere (another handle,
// another process), it reloads its key from its KeyProvider; if that is
// still the old key, it refuses: a value sealed under a retired key would
// be lost for good at the next rotation.
func (c *Catalog) currentSealer(ctx context.Context, tx *sql.Tx) (*sealer, error) {
	s := c.seal.Load()
	nonce, ct, err := readKeyCheck(ctx, tx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s, nil // a new catalog: the key check itself is being written
	case err != nil:
		return nil, err
	}
	if _, err := s.open(keyCheckID, nonce, ct); err == nil {
		return s, nil
	}
	return c.reloadKey(ctx, tx)
}

// reloadKey loads this handle's key again from its KeyProvider and adopts
// it if it opens the key check read through q.
func (c *Catalog) reloadKey(ctx context.Context, q querier) (*sealer, error) {
	stale := sqlparse.Error{Code: sqlstate.PrerequisiteState, Position: -1, Err: ErrKeyMismatch,
		Message: "the catalog's key was rotated and this handle's key provider still gives a retired key",
		Hint:    "Point this process's key provider (key file) at the new key, as RotateKey requires, then retry."}
	key, err := c.opts.Keys.Key(ctx)
	if err != nil {
		e := stale
		e.Message, e.Detail = "the catalog's key was rotated and this handle could not load the new key", err.Error()
		return nil, &e
	}
	next, err := newSealer(key)
	if err != nil {
		e := stale
		e.Detail = err.Error()
		return nil, &e
	}
	nonce, ct, err := readKeyCheck(ctx, q)
	if err != nil {
		return nil, err
	}
	if _, err := next.open(keyCheckID, nonce, ct); err != nil {
		return nil, &stale
	}
	c.seal.Store(next)
	return next, nil
}

// readKeyCheck reads the sealed key check (sql.ErrNoRows in a new catalog).
func readKeyCheck(ctx context.Context, q querier) (nonce, ct []byte, err error) {
	err = q.QueryRowContext(ctx, `SELECT nonce, ciphertext FROM conncat_secret_values WHERE id = ?`, keyCheckID).Scan(&nonce, &ct)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("read key check: %w", err)
	}
	return nonce, ct, err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// secretID returns the ID of the named secret, or "" when there is none.
func secretID(ctx context.Context, q querier, name string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM mz_secrets WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func secretName(ctx context.Context, q querier, id string) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, `SELECT name FROM mz_secrets WHERE id = ?`, id).Scan(&name)
	return name, err
}

func (c *Catalog) createSecret(ctx context.Context, tx *sql.Tx, s *sqlparse.CreateSecret, res *Result) error {
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
	now := c.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO mz_secrets (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		id, s.Name.Value, now, now); err != nil {
		return fmt.Errorf("insert secret: %w", err)
	}
	return c.storeValue(ctx, tx, id, s.Value.Unredacted())
}

func (c *Catalog) alterSecret(ctx context.Context, tx *sql.Tx, s *sqlparse.AlterSecret, res *Result) error {
	id, err := secretID(ctx, tx, s.Name.Value)
	if err != nil {
		return err
	}
	if id == "" {
		if s.IfExists {
			res.Notices = append(res.Notices, fmt.Sprintf("secret %q does not exist, skipping", s.Name.Value))
			return nil
		}
		return errorf(sqlstate.UndefinedObject, s.Name.Pos, "secret %q does not exist", s.Name.Value)
	}
	if s.RenameTo != nil {
		other, err := secretID(ctx, tx, s.RenameTo.Value)
		if err != nil {
			return err
		}
		if other != "" && other != id {
			return errorf(sqlstate.DuplicateObject, s.RenameTo.Pos, "secret %q already exists", s.RenameTo.Value)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mz_secrets SET name = ?, updated_at = ? WHERE id = ?`, s.RenameTo.Value, c.now(), id); err != nil {
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
	if _, err := tx.ExecContext(ctx, `UPDATE mz_secrets SET updated_at = ? WHERE id = ?`, c.now(), id); err != nil {
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
