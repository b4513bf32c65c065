// Package catalog is the statement executor: it answers the dialect's DDL,
// SHOW and SELECT statements over a Store (catalog/sqlite, catalog/postgres)
// that persists secrets and connections. It knows nothing of the network:
// VALIDATE CONNECTION and AWS clients live elsewhere and read connections
// through Resolve.
//
// Every DDL statement is one transaction. Secret values are sealed with
// AES-256-GCM, under a key that never enters the database, in a table that
// SELECT cannot name; no value ever appears in a catalog row, a create_sql,
// an error or a notice.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/sqlerror"
)

// Options configure a catalog. The zero value is usable but has no key.
type Options struct {
	// Principal is the ARN of the IAM role or user that customers' trust
	// policies name. Empty means the ambient credentials assume customer
	// roles directly and no example trust policy can be written.
	Principal string
	// SessionIdentity, when set, turns session identity on for the
	// catalog (recorded, so every node agrees): the data plane's sessions
	// carry who asked (SourceIdentity, session tags), this value standing
	// for callers with no role, and trust policies allow
	// sts:SetSourceIdentity and sts:TagSession. "" takes the catalog's.
	SessionIdentity string
	// ExternalIDPrefix is prepended to every generated external ID.
	ExternalIDPrefix string
	// Keys supplies the key that seals secrets.
	Keys KeyProvider
	// Endpoints says whether plain-http endpoints are accepted.
	Endpoints connection.EndpointPolicy
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Owner fills mz_connections.owner.
	Owner string
	// Superusers are the engine's roles that may do anything; a call
	// without a role (WithRole) acts as one too.
	Superusers []string
	// Statuses, when set, gives the rows of StatusTable: the process's
	// view of the credentials it holds. Without it the table is empty.
	Statuses func() []ConnectionStatus
	// MaxConcurrentQueries bounds the SELECTs that read the store at
	// once (others wait their turn, within their statement's budget), so
	// that queries cannot take every connection of a bounded pool from
	// DDL and Resolve. 0 means no bound.
	MaxConcurrentQueries int
	// MaxResultBytes bounds what one SELECT returns (its values' bytes):
	// 0 means DefaultMaxResultBytes, less than 0 no bound.
	MaxResultBytes int64
	// Results, when set, bounds the result bytes all running SELECTs of
	// every catalog sharing it hold at once.
	Results *ResultBudget
}

// Executor runs the dialect's statements over an open catalog (its Store);
// the engine's face of it is conncat.Catalog. It is safe for concurrent use.
type Executor struct {
	store     Store
	opts      Options
	principal *connection.ARN
	// seal is swapped by RotateKey while readers use it, hence atomic.
	seal atomic.Pointer[sealer]
	// querySlots holds a token per running SELECT (nil: unbounded).
	querySlots chan struct{}
}

// Open prepares store as a catalog: it applies pending migrations and
// checks the key. The caller keeps ownership of the store's database.
func Open(ctx context.Context, store Store, opts Options) (*Executor, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Owner == "" {
		opts.Owner = "conncat"
	}
	c := &Executor{store: store, opts: opts}
	if opts.MaxConcurrentQueries > 0 {
		c.querySlots = make(chan struct{}, opts.MaxConcurrentQueries)
	}
	if opts.Principal != "" {
		a, err := connection.ParsePrincipalARN(opts.Principal)
		if err != nil {
			return nil, fmt.Errorf("principal: %w", err)
		}
		c.principal = &a
	}
	if err := connection.CheckExternalIDPrefix(opts.ExternalIDPrefix); err != nil {
		return nil, fmt.Errorf("external ID prefix: %w", err)
	}
	if opts.Keys == nil {
		return nil, errors.New("catalog: Options.Keys is required")
	}
	if err := store.Open(ctx); err != nil {
		return nil, err
	}
	if err := c.openKey(ctx); err != nil {
		store.Close()
		return nil, err
	}
	if err := c.agreePrincipal(ctx); err != nil {
		store.Close()
		return nil, err
	}
	if err := c.agreeSessionIdentity(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return c, nil
}

// openKey loads the sealing key and checks that it opens the catalog. A
// key file that does not exist is created only for a catalog that has no
// key yet.
func (c *Executor) openKey(ctx context.Context) error {
	if path, missing := fileKeyMissing(c.opts.Keys); missing {
		expected, sealed, err := c.sealedWith(ctx)
		if err != nil {
			return err
		}
		// Another process of this machine opening the catalog at the same
		// moment may have made both the file and the key check: the file
		// is missing only if it still is.
		if _, still := fileKeyMissing(c.opts.Keys); sealed && still {
			return missingKeyFile(path, expected)
		}
	}
	key, err := c.opts.Keys.Key(ctx)
	if err != nil {
		return fmt.Errorf("load key: %w", err)
	}
	sealer, err := newSealer(key)
	if err != nil {
		return err
	}
	c.seal.Store(sealer)
	return c.checkKey(ctx, key)
}

// Close releases what the store keeps in the process (a PostgreSQL
// node's replica); the database handle stays the caller's.
func (c *Executor) Close() error { return c.store.Close() }

// Principal returns the configured principal ARN, or "".
func (c *Executor) Principal() string { return c.opts.Principal }

// keyCheckID is the associated data of the key check, a value sealed when
// the catalog is created so that a wrong key is caught at open, before it
// could seal new secrets that no other key opens.
const keyCheckID = "conncat-key-check"

// sealedWith reports whether the catalog already has a key, and its ID
// ("" for a catalog sealed before IDs were kept).
func (c *Executor) sealedWith(ctx context.Context) (id string, sealed bool, err error) {
	err = c.store.Read(ctx, func(tx Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM conncat_secret_values WHERE id = ?`, keyCheckID).Scan(&n); err != nil {
			return err
		}
		sealed = n > 0
		id, err = setting(ctx, tx, settingKeyID)
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("read key check: %w", err)
	}
	return id, sealed, nil
}

// checkKey opens the key check with key: a new catalog gets one, and the
// key's ID; a key that does not open it is refused, naming both keys by ID.
func (c *Executor) checkKey(ctx context.Context, key []byte) error {
	var nonce, ct []byte
	var expected string
	err := c.store.Read(ctx, func(tx Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT nonce, ciphertext FROM conncat_secret_values WHERE id = ?`, keyCheckID).Scan(&nonce, &ct); err != nil {
			return err
		}
		var err error
		expected, err = setting(ctx, tx, settingKeyID)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return c.store.Write(ctx, func(tx Tx) error {
			if err := c.storeValue(ctx, tx, keyCheckID, keyCheckID); err != nil {
				return err
			}
			return putSetting(ctx, tx, settingKeyID, KeyID(key))
		})
	}
	if err != nil {
		return fmt.Errorf("read key check: %w", err)
	}
	if _, err := c.seal.Load().open(keyCheckID, nonce, ct); err != nil {
		return keyMismatch(key, expected)
	}
	if expected == "" { // a catalog sealed before key IDs were kept
		return c.store.Write(ctx, func(tx Tx) error { return putSetting(ctx, tx, settingKeyID, KeyID(key)) })
	}
	return nil
}

// now is the time a statement writes into created_at and updated_at: the
// clock's, or the one its tape recorded when it first ran (see tape).
func (c *Executor) now(ctx context.Context) string {
	t := tapeOf(ctx)
	if t != nil && t.now != "" {
		return t.now
	}
	now := c.opts.Now().UTC().Format(time.RFC3339Nano)
	if t != nil {
		t.now = now
	}
	return now
}

// nextID takes the next object ID from a counter that never goes back,
// so IDs are never reused even after DROP. A read then a write rather
// than UPDATE ... RETURNING: the transaction already holds the catalog's
// write lock, so no other writer sits between them, and through go-sqlite3
// RETURNING costs about 45 µs more per call (measured: 81 vs 42 µs for a
// counter plus insert).
func nextID(ctx context.Context, tx Tx) (string, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT next FROM conncat_ids`).Scan(&n); err != nil {
		return "", fmt.Errorf("allocate id: %w", err)
	}
	return takeID(ctx, tx, n)
}

// takeID takes ID n, read from the counter in this transaction.
func takeID(ctx context.Context, tx Tx, n int64) (string, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE conncat_ids SET next = ?`, n+1); err != nil {
		return "", fmt.Errorf("allocate id: %w", err)
	}
	return fmt.Sprintf("u%d", n), nil
}

// errorf builds a SQLSTATE error at the position of a statement's part.
func errorf(code string, pos int, format string, args ...any) *sqlerror.Error {
	return &sqlerror.Error{Code: code, Message: fmt.Sprintf(format, args...), Position: pos}
}
