package catalog

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

// create writes a new key beside the final name, syncs it, then links it
// into place: the link is atomic, so a reader never sees a half-written
// key file, and of processes creating it at once exactly one wins (the
// others get fs.ErrExist and read the winner's).
func (f FileKey) create() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".new-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("key file: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), f.Path); err != nil {
		return nil, err
	}
	return key, nil
}

// StaticKey is a KeyProvider for a key held in memory (tests, or an engine
// that fetches its key from a KMS itself).
type StaticKey []byte

// Key implements KeyProvider.
func (k StaticKey) Key(context.Context) ([]byte, error) { return []byte(k), nil }
