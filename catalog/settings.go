package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

// Settings every node of a catalog must agree on live with it
// (conncat_settings): the ID of its sealing key, never the key, so that a
// node given another key is told which one to copy; and the engine's
// principal, so that a node opened without one writes the same trust
// policies as the others.
const (
	settingKeyID           = "key_id"
	settingPrincipal       = "principal"
	settingSessionIdentity = "session_identity"
)

// KeyID names a key without revealing it: the first 8 bytes of a
// SHA-256 of it, in hex. Two nodes with the same key show the same ID.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("conncat key id\x00"), key...))
	return "k-" + hex.EncodeToString(sum[:8])
}

// setting reads a setting; "" when it is not set.
func setting(ctx context.Context, q Tx, name string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM conncat_settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func putSetting(ctx context.Context, tx Tx, name, value string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM conncat_settings WHERE name = ?`, name); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO conncat_settings (name, value) VALUES (?, ?)`, name, value)
	return err
}

// keyMismatch is the error of a key that does not open the catalog,
// naming both keys by ID.
func keyMismatch(given []byte, expected string) error {
	msg := fmt.Sprintf("the key given (%s) does not open this catalog", KeyID(given))
	if expected != "" {
		msg += fmt.Sprintf(", which was sealed with key %s", expected)
	}
	return &sqlerror.Error{Code: sqlstate.PrerequisiteState, Position: -1, Err: ErrKeyMismatch, Message: msg,
		Hint: "Copy the key file of a node that opens this catalog (mode 600): the key never enters the database, so every node must be given the same one."}
}

// missingKeyFile refuses to create a key for a catalog that already has
// one: a new key would open nothing, and every secret sealed since would
// be unreadable to the other nodes.
func missingKeyFile(path, expected string) error {
	return &sqlerror.Error{Code: sqlstate.PrerequisiteState, Position: -1, Err: fs.ErrNotExist,
		Message: fmt.Sprintf("key file %s does not exist, and this catalog was sealed with key %s", path, expected),
		Hint:    "Copy that key file from a node that opens this catalog (mode 600); a new key would open none of its secrets."}
}

// fileKeyMissing reports whether keys is a key file that does not exist yet.
func fileKeyMissing(keys KeyProvider) (string, bool) {
	f, ok := keys.(FileKey)
	if !ok {
		return "", false
	}
	_, err := os.Stat(f.Path)
	return f.Path, errors.Is(err, fs.ErrNotExist)
}

// agreePrincipal makes the node's principal the catalog's: the catalog's
// when the node gave none, the node's when the catalog has none yet (it
// is then recorded); a different one is refused.
func (c *Executor) agreePrincipal(ctx context.Context) error {
	// A read first, as agreeSessionIdentity: the write lock only to record.
	stored, err := setting(ctx, c.store.Reader(), settingPrincipal)
	if err == nil && stored == "" && c.opts.Principal != "" {
		err = c.store.Write(ctx, func(tx Tx) (err error) {
			if stored, err = setting(ctx, tx, settingPrincipal); err != nil || stored != "" {
				return err
			}
			return putSetting(ctx, tx, settingPrincipal, c.opts.Principal)
		})
	}
	switch {
	case err != nil:
		return fmt.Errorf("read the catalog's principal: %w", err)
	case stored == "" || stored == c.opts.Principal:
		return nil
	case c.opts.Principal == "":
		a, err := connection.ParsePrincipalARN(stored)
		if err != nil {
			return fmt.Errorf("the catalog's principal: %w", err)
		}
		c.opts.Principal, c.principal = stored, &a
		return nil
	}
	return &sqlerror.Error{Code: sqlstate.PrerequisiteState, Position: -1,
		Message: fmt.Sprintf("this catalog's principal is %s, not %s", stored, c.opts.Principal),
		Hint:    "Every node of a catalog writes trust policies for the same principal: give that one, or none to use the catalog's."}
}

// agreeSessionIdentity makes session identity the catalog's choice, as
// agreePrincipal does the principal. Turning it on rewrites the example
// trust policies already written, in the same transaction, so that every
// one shows the two actions the sessions now need.
func (c *Executor) agreeSessionIdentity(ctx context.Context) error {
	given := c.opts.SessionIdentity
	if given != "" {
		if err := connection.CheckSourceIdentity(given); err != nil {
			return fmt.Errorf("session identity: %w", err)
		}
	}
	// A read first: Open takes no write lock unless there is something to
	// record (turning it on), which happens once in a catalog's life.
	stored, err := setting(ctx, c.store.Reader(), settingSessionIdentity)
	if err == nil && stored == "" && given != "" {
		err = c.store.Write(ctx, func(tx Tx) (err error) {
			if stored, err = setting(ctx, tx, settingSessionIdentity); err != nil || stored != "" {
				return err
			}
			if err := putSetting(ctx, tx, settingSessionIdentity, given); err != nil {
				return err
			}
			c.opts.SessionIdentity = given
			return c.rewriteTrustPolicies(ctx, tx)
		})
	}
	switch {
	case err != nil:
		return fmt.Errorf("read the catalog's session identity: %w", err)
	case stored == "" || stored == given:
		c.opts.SessionIdentity = max(stored, given)
		return nil
	case given == "":
		c.opts.SessionIdentity = stored
		return nil
	}
	return &sqlerror.Error{Code: sqlstate.PrerequisiteState, Position: -1,
		Message: fmt.Sprintf("this catalog's session identity is %q, not %q", stored, given),
		Hint:    "Every node of a catalog sends the same identity for callers with no role: give that one, or none to use the catalog's."}
}

// SessionIdentity is the catalog's session identity ("" when off): the
// source identity of sessions made for callers with no role.
func (c *Executor) SessionIdentity() string { return c.opts.SessionIdentity }

// rewriteTrustPolicies writes every example trust policy again.
func (c *Executor) rewriteTrustPolicies(ctx context.Context, tx Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, principal, external_id FROM mz_aws_connections WHERE example_trust_policy IS NOT NULL`)
	if err != nil {
		return err
	}
	type trust struct{ id, principal, externalID string }
	var all []trust
	for rows.Next() {
		var t trust
		if err := rows.Scan(&t.id, &t.principal, &t.externalID); err != nil {
			rows.Close()
			return err
		}
		all = append(all, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range all {
		policy := TrustPolicy(t.principal, t.externalID, c.opts.SessionIdentity != "")
		if _, err := tx.ExecContext(ctx, `UPDATE mz_aws_connections SET example_trust_policy = ? WHERE id = ?`, policy, t.id); err != nil {
			return err
		}
	}
	return nil
}
