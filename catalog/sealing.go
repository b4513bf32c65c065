package catalog

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

// sealer encrypts secret values with AES-256-GCM. The associated data is
// the value's storage ID, so a ciphertext moved to another row fails to open.
type sealer struct {
	aead cipher.AEAD
	// previous, during RotateKey's commit only, opens what the old key sealed.
	previous *sealer
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(id, plaintext string) (nonce, ciphertext []byte, err error) {
	nonce = make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("generate nonce: %w", err)
	}
	return nonce, s.aead.Seal(nil, nonce, []byte(plaintext), []byte(id)), nil
}

func (s *sealer) open(id string, nonce, ciphertext []byte) (string, error) {
	if len(nonce) != s.aead.NonceSize() {
		return "", fmt.Errorf("secret %s: corrupt nonce", id)
	}
	p, err := s.aead.Open(nil, nonce, ciphertext, []byte(id))
	if err != nil && s.previous != nil {
		return s.previous.open(id, nonce, ciphertext)
	}
	if err != nil {
		return "", fmt.Errorf("secret %s cannot be decrypted: %w", id, ErrKeyMismatch)
	}
	return string(p), nil
}

// RotateKey re-encrypts every sealed value (secrets, inline session tokens,
// the key check) under the key newKeys provides, in one transaction: on
// any error nothing changes and the old key stays in force. newKeys must
// already be durable (a new key file written and synced, a new KMS key
// version) before the call: from the moment the transaction commits only
// the new key opens the catalog, here and in every other process.
func (c *Executor) RotateKey(ctx context.Context, newKeys KeyProvider) error {
	if !c.actor(ctx).super {
		return errorf(sqlstate.InsufficientPrivilege, -1, "must be a superuser to rotate the catalog's key").
			WithHint("Rotate it with a context that carries no role, or one of the superusers (WithSuperusers).")
	}
	key, err := newKeys.Key(ctx)
	if err != nil {
		return fmt.Errorf("load new key: %w", err)
	}
	next, err := newSealer(key)
	if err != nil {
		return fmt.Errorf("new key: %w", err)
	}
	var old *sealer
	err = c.store.Write(ctx, func(tx Tx) error {
		// The current key, reloaded if another handle rotated it
		// meanwhile: a stale handle rotates from the key the values are
		// sealed under.
		var err error
		if old, err = c.currentSealer(ctx, tx); err != nil {
			return err
		}
		if err := reseal(ctx, tx, old, next); err != nil {
			return err
		}
		if err := putSetting(ctx, tx, settingKeyID, KeyID(key)); err != nil {
			return fmt.Errorf("record the new key's ID: %w", err)
		}
		// Readers outside the write lock may see either side of the
		// commit: while it lands they get a sealer that opens both.
		c.seal.Store(&sealer{aead: next.aead, previous: old})
		return nil
	})
	if err != nil {
		if old != nil {
			c.seal.Store(old)
		}
		return err
	}
	c.seal.Store(next)
	return nil
}

// sealedValue is one row of conncat_secret_values.
type sealedValue struct {
	id        string
	nonce, ct []byte
}

// reseal re-encrypts every sealed value of the catalog from old to next
// inside tx.
func reseal(ctx context.Context, tx Tx, old, next *sealer) error {
	values, err := readSealedValues(ctx, tx)
	if err != nil {
		return fmt.Errorf("read sealed values: %w", err)
	}
	for _, v := range values {
		plain, err := old.open(v.id, v.nonce, v.ct)
		if err != nil {
			return fmt.Errorf("rotate key: %w; nothing was changed", err)
		}
		nonce, ct, err := next.seal(v.id, plain)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conncat_secret_values SET nonce = ?, ciphertext = ? WHERE id = ?`, nonce, ct, v.id); err != nil {
			return fmt.Errorf("rotate key: write %s: %w", v.id, err)
		}
	}
	return nil
}

func readSealedValues(ctx context.Context, tx Tx) ([]sealedValue, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, nonce, ciphertext FROM conncat_secret_values`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var values []sealedValue
	for rows.Next() {
		var v sealedValue
		if err := rows.Scan(&v.id, &v.nonce, &v.ct); err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	return values, rows.Err()
}

// storeValue seals and stores (or replaces) a value under id, with the
// catalog's current key (see currentSealer).
func (c *Executor) storeValue(ctx context.Context, tx Tx, id, value string) error {
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

// openValue opens a sealed value read under id; if this handle's key no
// longer opens it (another handle rotated the key), the key is reloaded
// from the KeyProvider once.
func (c *Executor) openValue(ctx context.Context, q Tx, id string, nonce, ct []byte) (string, error) {
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
func (c *Executor) currentSealer(ctx context.Context, tx Tx) (*sealer, error) {
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
func (c *Executor) reloadKey(ctx context.Context, q Tx) (*sealer, error) {
	stale := sqlerror.Error{Code: sqlstate.PrerequisiteState, Position: -1, Err: ErrKeyMismatch,
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
func readKeyCheck(ctx context.Context, q Tx) (nonce, ct []byte, err error) {
	err = q.QueryRowContext(ctx, `SELECT nonce, ciphertext FROM conncat_secret_values WHERE id = ?`, keyCheckID).Scan(&nonce, &ct)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("read key check: %w", err)
	}
	return nonce, ct, err
}
