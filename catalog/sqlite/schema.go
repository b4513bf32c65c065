package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are applied in order, each in its own transaction together
// with the version bump, so a crash leaves the schema at one version or the
// next. Append only: a released migration never changes.
var migrations = []string{
	// 1: objects, secrets, dependencies.
	`
CREATE TABLE conncat_ids (next INTEGER NOT NULL);
INSERT INTO conncat_ids (next) VALUES (1);

CREATE TABLE mz_secrets (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);

-- Sealed values: secrets (keyed by the secret's ID), inline session tokens
-- (keyed by "<connection id>/session_token") and the key check. Never
-- nameable by SELECT.
CREATE TABLE conncat_secret_values (
	id         TEXT PRIMARY KEY,
	nonce      BLOB NOT NULL,
	ciphertext BLOB NOT NULL
);

CREATE TABLE mz_connections (
	id                  TEXT PRIMARY KEY,
	name                TEXT NOT NULL UNIQUE,
	type                TEXT NOT NULL CHECK (type IN ('aws', 's3')),
	owner               TEXT NOT NULL,
	create_sql          TEXT NOT NULL,
	redacted_create_sql TEXT NOT NULL,
	created_at          TEXT NOT NULL,
	updated_at          TEXT NOT NULL
);

CREATE TABLE mz_aws_connections (
	id                          TEXT PRIMARY KEY REFERENCES mz_connections (id) ON DELETE CASCADE,
	endpoint                    TEXT,
	region                      TEXT,
	access_key_id               TEXT,
	access_key_id_secret_id     TEXT REFERENCES mz_secrets (id),
	secret_access_key_secret_id TEXT REFERENCES mz_secrets (id),
	session_token               TEXT,
	session_token_secret_id     TEXT REFERENCES mz_secrets (id),
	assume_role_arn             TEXT,
	assume_role_session_name    TEXT,
	principal                   TEXT,
	external_id                 TEXT UNIQUE,
	example_trust_policy        TEXT,
	sts_endpoint                TEXT,
	assume_role_duration        INTEGER
);

CREATE TABLE mz_s3_connections (
	id                TEXT PRIMARY KEY REFERENCES mz_connections (id) ON DELETE CASCADE,
	aws_connection_id TEXT NOT NULL REFERENCES mz_connections (id),
	bucket            TEXT NOT NULL,
	prefix            TEXT NOT NULL
);

CREATE TABLE mz_object_dependencies (
	object_id            TEXT NOT NULL,
	referenced_object_id TEXT NOT NULL,
	PRIMARY KEY (object_id, referenced_object_id)
);
CREATE INDEX mz_object_dependencies_referenced ON mz_object_dependencies (referenced_object_id);
`,
	// 2: the latest result of every VALIDATE check.
	`
CREATE TABLE mz_connection_validations (
	connection_id TEXT NOT NULL REFERENCES mz_connections (id) ON DELETE CASCADE,
	validated_at  TEXT NOT NULL,
	"check"       TEXT NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('PASS', 'FAIL', 'SKIP')),
	message       TEXT NOT NULL,
	PRIMARY KEY (connection_id, "check")
);
`,
	// 3: external IDs outlive a switch to static keys: a connection keeps
	// the one it was first given until DROP.
	`
CREATE TABLE conncat_external_ids (
	connection_id TEXT PRIMARY KEY REFERENCES mz_connections (id) ON DELETE CASCADE,
	external_id   TEXT NOT NULL UNIQUE
);
INSERT INTO conncat_external_ids (connection_id, external_id)
	SELECT id, external_id FROM mz_aws_connections WHERE external_id IS NOT NULL;
`,
	// 4: the change feed other processes on the file poll (see Watch).
	`
CREATE TABLE conncat_changes (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	ids TEXT NOT NULL
);
`,
	// 5: two fewer pages written by every CREATE CONNECTION. The feed
	// without AUTOINCREMENT, which wrote sqlite_sequence on every DDL
	// (sequence numbers still only grow: a new row takes the largest plus
	// one, and pruning never deletes the newest). External IDs in a
	// WITHOUT ROWID table: its rows are small, and its primary key is then
	// the table instead of an index beside it. No table references either.
	`
CREATE TABLE conncat_changes_v5 (
	seq INTEGER PRIMARY KEY,
	ids TEXT NOT NULL
);
INSERT INTO conncat_changes_v5 (seq, ids) SELECT seq, ids FROM conncat_changes;
DROP TABLE conncat_changes;
ALTER TABLE conncat_changes_v5 RENAME TO conncat_changes;

CREATE TABLE conncat_external_ids_v5 (
	connection_id TEXT PRIMARY KEY REFERENCES mz_connections (id) ON DELETE CASCADE,
	external_id   TEXT NOT NULL UNIQUE
) WITHOUT ROWID;
INSERT INTO conncat_external_ids_v5 (connection_id, external_id) SELECT connection_id, external_id FROM conncat_external_ids;
DROP TABLE conncat_external_ids;
ALTER TABLE conncat_external_ids_v5 RENAME TO conncat_external_ids;
`,
}

// SchemaVersion is the version a fully migrated catalog has.
func SchemaVersion() int { return len(migrations) }

// Open implements catalog.Store: it brings the schema to the current
// version; a file store keeps nothing else in the process.
func (s *Store) Open(ctx context.Context) error { return s.migrate(ctx, SchemaVersion()) }

// Close implements catalog.Store: nothing to release (the handle is the
// caller's).
func (s *Store) Close() error { return nil }

// migrate brings the schema to version target. A catalog already there is
// only read: opening it takes no write lock, so a process opens while
// another one holds the lock.
func (s *Store) migrate(ctx context.Context, target int) error {
	var version int
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM conncat_schema`).Scan(&version); err == nil && version == target {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS conncat_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create conncat_schema: %w", err)
	}
	for done := false; !done; {
		err := withTx(ctx, s.db, func(tx *sql.Tx) (err error) {
			done, err = migrateOne(ctx, tx, target)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// migrateOne applies the next migration, if the schema is below target,
// in tx; done reports that it was not.
func migrateOne(ctx context.Context, tx *sql.Tx, target int) (done bool, err error) {
	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM conncat_schema`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO conncat_schema (version) VALUES (0)`)
	}
	switch {
	case err != nil:
		return false, fmt.Errorf("read schema version: %w", err)
	case version > len(migrations):
		return false, fmt.Errorf("catalog schema version %d is newer than this conncat (%d): upgrade conncat", version, len(migrations))
	case version >= target:
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conncat_schema SET version = ?`, version+1); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	return false, nil
}
