package catalog

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// KeyProvider supplies the 32-byte AES-256 key that seals secret values.
// Key must honour ctx; it is called once when a catalog opens and again by
// RotateKey for the new key.
type KeyProvider interface {
	Key(ctx context.Context) ([]byte, error)
}

// ErrKeyMismatch is returned by Open when the key cannot decrypt the
// catalog's key check: the key file is not the one the catalog was created
// with. Nothing is changed.
var ErrKeyMismatch = errors.New("the key does not match this catalog")

// FileKey keeps the key in a file, created with mode 0600 on first use.
// A file that group or others can read is refused: anyone who can read it
// can read every secret in the catalog.
type FileKey struct{ Path string }

// Key implements KeyProvider.
func (f FileKey) Key(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := f.read()
	if errors.Is(err, fs.ErrNotExist) {
		key, err = f.create()
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first; use theirs.
			key, err = f.read()
		}
	}
	return key, err
}

func (f FileKey) read() ([]byte, error) {
	file, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %#o: it must not be readable by group or others (chmod 600 %s)",
			f.Path, info.Mode().Perm(), f.Path)
	}
	key := make([]byte, 33)
	n, err := io.ReadFull(file, key)
	if n != 32 || !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("key file %s must hold exactly 32 bytes", f.Path)
	}
	return key[:32], nil
}

func (f FileKey) create() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	file, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := file.Write(key); err != nil {
		file.Close()
		os.Remove(f.Path)
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return nil, fmt.Errorf("sync key file: %w", err)
	}
	return key, file.Close()
}

// StaticKey is a KeyProvider for a key held in memory (tests, or an engine
// that fetches its key from a KMS itself).
type StaticKey []byte

// Key implements KeyProvider.
func (k StaticKey) Key(context.Context) ([]byte, error) { return []byte(k), nil }

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
func (c *Catalog) RotateKey(ctx context.Context, newKeys KeyProvider) error {
	key, err := newKeys.Key(ctx)
	if err != nil {
		return fmt.Errorf("load new key: %w", err)
	}
	next, err := newSealer(key)
	if err != nil {
		return fmt.Errorf("new key: %w", err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	// The current key, reloaded if another handle rotated it meanwhile: a
	// stale handle rotates from the key the values are sealed under.
	old, err := c.currentSealer(ctx, tx)
	if err != nil {
		return err
	}
	type sealed struct {
		id        string
		nonce, ct []byte
	}
	var values []sealed
	rows, err := tx.QueryContext(ctx, `SELECT id, nonce, ciphertext FROM conncat_secret_values`)
	if err != nil {
		return fmt.Errorf("read sealed values: %w", err)
	}
	for rows.Next() {
		var v sealed
		if err := rows.Scan(&v.id, &v.nonce, &v.ct); err != nil {
			rows.Close()
			return fmt.Errorf("read sealed values: %w", err)
		}
		values = append(values, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
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
	// Readers outside the write lock may see either side of the commit:
	// while it lands they get a sealer that opens both.
	c.seal.Store(&sealer{aead: next.aead, previous: old})
	if err := tx.Commit(); err != nil {
		c.seal.Store(old)
		return fmt.Errorf("rotate key: commit: %w", err)
	}
	c.seal.Store(next)
	return nil
}
