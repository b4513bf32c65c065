package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/conncat/conncat/catalog"
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
	// 6: the tables SELECT reads WITHOUT ROWID, so that a table's rows are
	// stored, and scanned, in primary-key order: a query's answer (row
	// order without ORDER BY, ties, LIMIT) then depends only on the rows,
	// never on the history that wrote them, and a PostgreSQL node's
	// replica, built by other writes, answers exactly as this file does.
	// Run with foreign keys off (see foreignKeysOff), checked before
	// commit.
	`
CREATE TABLE mz_secrets_v6 (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO mz_secrets_v6 SELECT id, name, created_at, updated_at FROM mz_secrets;
DROP TABLE mz_secrets;
ALTER TABLE mz_secrets_v6 RENAME TO mz_secrets;

CREATE TABLE mz_connections_v6 (
	id                  TEXT PRIMARY KEY,
	name                TEXT NOT NULL UNIQUE,
	type                TEXT NOT NULL CHECK (type IN ('aws', 's3')),
	owner               TEXT NOT NULL,
	create_sql          TEXT NOT NULL,
	redacted_create_sql TEXT NOT NULL,
	created_at          TEXT NOT NULL,
	updated_at          TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO mz_connections_v6 SELECT id, name, type, owner, create_sql, redacted_create_sql, created_at, updated_at FROM mz_connections;
DROP TABLE mz_connections;
ALTER TABLE mz_connections_v6 RENAME TO mz_connections;

CREATE TABLE mz_aws_connections_v6 (
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
) WITHOUT ROWID;
INSERT INTO mz_aws_connections_v6 SELECT id, endpoint, region, access_key_id, access_key_id_secret_id,
	secret_access_key_secret_id, session_token, session_token_secret_id, assume_role_arn, assume_role_session_name,
	principal, external_id, example_trust_policy, sts_endpoint, assume_role_duration FROM mz_aws_connections;
DROP TABLE mz_aws_connections;
ALTER TABLE mz_aws_connections_v6 RENAME TO mz_aws_connections;

CREATE TABLE mz_s3_connections_v6 (
	id                TEXT PRIMARY KEY REFERENCES mz_connections (id) ON DELETE CASCADE,
	aws_connection_id TEXT NOT NULL REFERENCES mz_connections (id),
	bucket            TEXT NOT NULL,
	prefix            TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO mz_s3_connections_v6 SELECT id, aws_connection_id, bucket, prefix FROM mz_s3_connections;
DROP TABLE mz_s3_connections;
ALTER TABLE mz_s3_connections_v6 RENAME TO mz_s3_connections;

CREATE TABLE mz_object_dependencies_v6 (
	object_id            TEXT NOT NULL,
	referenced_object_id TEXT NOT NULL,
	PRIMARY KEY (object_id, referenced_object_id)
) WITHOUT ROWID;
INSERT INTO mz_object_dependencies_v6 SELECT object_id, referenced_object_id FROM mz_object_dependencies;
DROP TABLE mz_object_dependencies;
ALTER TABLE mz_object_dependencies_v6 RENAME TO mz_object_dependencies;
CREATE INDEX mz_object_dependencies_referenced ON mz_object_dependencies (referenced_object_id);

CREATE TABLE mz_connection_validations_v6 (
	connection_id TEXT NOT NULL REFERENCES mz_connections (id) ON DELETE CASCADE,
	validated_at  TEXT NOT NULL,
	"check"       TEXT NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('PASS', 'FAIL', 'SKIP')),
	message       TEXT NOT NULL,
	PRIMARY KEY (connection_id, "check")
) WITHOUT ROWID;
INSERT INTO mz_connection_validations_v6 SELECT connection_id, validated_at, "check", status, message FROM mz_connection_validations;
DROP TABLE mz_connection_validations;
ALTER TABLE mz_connection_validations_v6 RENAME TO mz_connection_validations;
`,
	// 7: tenants. Each connection and secret has an owner (the engine's
	// role that created it; NULL for objects made before roles, which
	// only superusers reach until one is given an owner) and its
	// privileges, PostgreSQL's aclitem list as text ("{alice=U/alice}").
	// mz_audit_events records every change, with Materialize's columns.
	`
ALTER TABLE mz_connections ADD COLUMN owner_id TEXT;
ALTER TABLE mz_connections ADD COLUMN privileges TEXT;
ALTER TABLE mz_secrets ADD COLUMN owner_id TEXT;
ALTER TABLE mz_secrets ADD COLUMN privileges TEXT;
CREATE TABLE mz_audit_events (
	id          INTEGER PRIMARY KEY,
	event_type  TEXT NOT NULL,
	object_type TEXT NOT NULL,
	details     TEXT NOT NULL,
	"user"      TEXT,
	occurred_at TEXT NOT NULL
) WITHOUT ROWID;
`,
	// 8: what every node of a catalog must agree on, kept with it: the ID
	// of the sealing key (never the key) and the engine's principal.
	`
CREATE TABLE conncat_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`,
}

// foreignKeysOff are the migrations that rebuild tables other tables
// reference: they run with foreign keys off (a DROP TABLE would otherwise
// delete the rows that reference it, by cascade), and foreign_key_check
// must find nothing wrong before they commit.
var foreignKeysOff = map[int]bool{6: true}

// SchemaVersion is the version a fully migrated catalog has.
func SchemaVersion() int { return len(migrations) }

// Open implements catalog.Store: it brings the schema to the current
// version; a file store keeps nothing else in the process.
func (s *Store) Open(ctx context.Context) error { return s.migrate(ctx, SchemaVersion()) }

// Close implements catalog.Store: nothing to release (the handle is the
// caller's).
func (s *Store) Close() error { return nil }

// migrate brings the schema to version target and, at the current
// version, adds the option columns it lacks. A catalog already there is
// only read: opening it takes no write lock, so a process opens while
// another one holds the lock.
func (s *Store) migrate(ctx context.Context, target int) error {
	if err := s.migrateNumbered(ctx, target); err != nil {
		return err
	}
	if target != SchemaVersion() {
		return nil // a test stopping at an older version: no column is due yet
	}
	return s.addOptionColumns(ctx)
}

// addOptionColumns adds the columns of catalog.OptionColumns that
// mz_aws_connections lacks (an option newer than the catalog), checking
// again under the write lock so that processes opening together add each
// once.
func (s *Store) addOptionColumns(ctx context.Context) error {
	if missing, err := missingOptionColumns(ctx, catalog.SQLTx{Handle: s.db}); err != nil || len(missing) == 0 {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return withTx(ctx, s.db, func(tx *sql.Tx) error {
		missing, err := missingOptionColumns(ctx, catalog.SQLTx{Handle: tx})
		if err != nil {
			return err
		}
		for _, c := range missing {
			kind := "TEXT"
			if c.Integer {
				kind = "INTEGER"
			} else if c.Secret {
				kind = "TEXT REFERENCES mz_secrets (id)"
			}
			if _, err := tx.ExecContext(ctx, `ALTER TABLE mz_aws_connections ADD COLUMN "`+c.Name+`" `+kind); err != nil {
				return fmt.Errorf("add option column %s: %w", c.Name, err)
			}
		}
		return nil
	})
}

// missingOptionColumns lists the option columns mz_aws_connections lacks.
func missingOptionColumns(ctx context.Context, q catalog.Tx) ([]catalog.OptionColumn, error) {
	return catalog.MissingOptionColumns(ctx, q, `SELECT name FROM pragma_table_info('mz_aws_connections')`)
}

// migrateNumbered applies the numbered migrations up to target.
func (s *Store) migrateNumbered(ctx context.Context, target int) error {
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
		var err error
		done, err = s.migrateNext(ctx, target)
		if err != nil {
			return err
		}
	}
	return nil
}

// migrateNext applies the next migration below target in its own
// transaction; done reports that there was none.
func (s *Store) migrateNext(ctx context.Context, target int) (done bool, err error) {
	var version int
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM conncat_schema`).Scan(&version); err == nil && foreignKeysOff[version+1] && version < target {
		return false, s.migrateWithoutForeignKeys(ctx, target)
	}
	err = withTx(ctx, s.db, func(tx *sql.Tx) (err error) {
		done, err = migrateOne(ctx, tx, target)
		return err
	})
	return done, err
}

// migrateWithoutForeignKeys applies the next migration on a connection
// of its own with foreign keys off (a setting SQLite takes only outside a
// transaction), refusing to commit if any reference is left dangling.
func (s *Store) migrateWithoutForeignKeys(ctx context.Context, target int) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var was int
	if err := conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&was); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = `+strconv.Itoa(was))
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := migrateOne(ctx, tx, target); err != nil {
		return err
	}
	var dangling int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&dangling); err != nil {
		return fmt.Errorf("check references: %w", err)
	}
	if dangling > 0 {
		return fmt.Errorf("migration left %d rows referencing nothing; nothing was changed", dangling)
	}
	return tx.Commit()
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
