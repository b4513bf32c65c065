package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// migrations are applied in order, each in the same transaction as the
// version bump, under the catalog's advisory lock. Append only. The
// tables have SQLite's columns in SQLite's order, with the same types
// (timestamps as RFC 3339 text, durations as integers), so that SELECT
// gives the same rows from both stores; text compares and sorts byte by
// byte (COLLATE "C"), as SQLite's does, whatever the database's locale.
// {{schema}} and {{reader}} are
// replaced by the quoted schema and reader role.
var migrations = []string{
	// 1: everything SQLite's migrations 1 to 3 built.
	`
CREATE TABLE {{schema}}.conncat_ids (next BIGINT NOT NULL);
INSERT INTO {{schema}}.conncat_ids (next) VALUES (1);

CREATE TABLE {{schema}}.mz_secrets (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL UNIQUE,
	created_at TEXT COLLATE "C" NOT NULL,
	updated_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE {{schema}}.conncat_secret_values (
	id         TEXT COLLATE "C" PRIMARY KEY,
	nonce      BYTEA NOT NULL,
	ciphertext BYTEA NOT NULL
);

CREATE TABLE {{schema}}.mz_connections (
	id                  TEXT COLLATE "C" PRIMARY KEY,
	name                TEXT COLLATE "C" NOT NULL UNIQUE,
	type                TEXT COLLATE "C" NOT NULL CHECK (type IN ('aws', 's3')),
	owner               TEXT COLLATE "C" NOT NULL,
	create_sql          TEXT COLLATE "C" NOT NULL,
	redacted_create_sql TEXT COLLATE "C" NOT NULL,
	created_at          TEXT COLLATE "C" NOT NULL,
	updated_at          TEXT COLLATE "C" NOT NULL
);

CREATE TABLE {{schema}}.mz_aws_connections (
	id                          TEXT COLLATE "C" PRIMARY KEY REFERENCES {{schema}}.mz_connections (id) ON DELETE CASCADE,
	endpoint                    TEXT COLLATE "C",
	region                      TEXT COLLATE "C",
	access_key_id               TEXT COLLATE "C",
	access_key_id_secret_id     TEXT COLLATE "C" REFERENCES {{schema}}.mz_secrets (id),
	secret_access_key_secret_id TEXT COLLATE "C" REFERENCES {{schema}}.mz_secrets (id),
	session_token               TEXT COLLATE "C",
	session_token_secret_id     TEXT COLLATE "C" REFERENCES {{schema}}.mz_secrets (id),
	assume_role_arn             TEXT COLLATE "C",
	assume_role_session_name    TEXT COLLATE "C",
	principal                   TEXT COLLATE "C",
	external_id                 TEXT COLLATE "C" UNIQUE,
	example_trust_policy        TEXT COLLATE "C",
	sts_endpoint                TEXT COLLATE "C",
	assume_role_duration        BIGINT
);

CREATE TABLE {{schema}}.mz_s3_connections (
	id                TEXT COLLATE "C" PRIMARY KEY REFERENCES {{schema}}.mz_connections (id) ON DELETE CASCADE,
	aws_connection_id TEXT COLLATE "C" NOT NULL REFERENCES {{schema}}.mz_connections (id),
	bucket            TEXT COLLATE "C" NOT NULL,
	prefix            TEXT COLLATE "C" NOT NULL
);

CREATE TABLE {{schema}}.mz_object_dependencies (
	object_id            TEXT COLLATE "C" NOT NULL,
	referenced_object_id TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (object_id, referenced_object_id)
);
CREATE INDEX mz_object_dependencies_referenced ON {{schema}}.mz_object_dependencies (referenced_object_id);

CREATE TABLE {{schema}}.mz_connection_validations (
	connection_id TEXT COLLATE "C" NOT NULL REFERENCES {{schema}}.mz_connections (id) ON DELETE CASCADE,
	validated_at  TEXT COLLATE "C" NOT NULL,
	"check"       TEXT COLLATE "C" NOT NULL,
	status        TEXT COLLATE "C" NOT NULL CHECK (status IN ('PASS', 'FAIL', 'SKIP')),
	message       TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (connection_id, "check")
);

CREATE TABLE {{schema}}.conncat_external_ids (
	connection_id TEXT COLLATE "C" PRIMARY KEY REFERENCES {{schema}}.mz_connections (id) ON DELETE CASCADE,
	external_id   TEXT COLLATE "C" NOT NULL UNIQUE
);

GRANT USAGE ON SCHEMA {{schema}} TO {{reader}};
GRANT SELECT ON {{schema}}.mz_connections, {{schema}}.mz_aws_connections, {{schema}}.mz_s3_connections,
	{{schema}}.mz_secrets, {{schema}}.mz_object_dependencies, {{schema}}.mz_connection_validations TO {{reader}};
`,
}

// SchemaVersion is the version a fully migrated catalog has.
func SchemaVersion() int { return len(migrations) }

// Migrate implements catalog.Store: under a transaction-scoped advisory
// lock on the catalog, so that nodes starting together migrate once; a
// catalog already current is only read.
func (s *Store) Migrate(ctx context.Context) error {
	if v, err := s.version(ctx, s.db); err == nil && v == SchemaVersion() {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockKey); err != nil {
		return fmt.Errorf("lock catalog for migration: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.expand(`CREATE SCHEMA IF NOT EXISTS {{schema}};
		CREATE TABLE IF NOT EXISTS {{schema}}.conncat_schema (version INTEGER NOT NULL)`)); err != nil {
		return fmt.Errorf("create schema %s: %w", s.schema, err)
	}
	if err := s.ensureReader(ctx, tx); err != nil {
		return err
	}
	version, err := s.version(ctx, tx)
	if errors.Is(err, sql.ErrNoRows) {
		version, err = 0, s.exec(ctx, tx, `INSERT INTO {{schema}}.conncat_schema (version) VALUES (0)`)
	}
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("catalog schema version %d is newer than this conncat (%d): upgrade conncat", version, len(migrations))
	}
	for ; version < len(migrations); version++ {
		if err := s.exec(ctx, tx, migrations[version]); err != nil {
			return fmt.Errorf("migration %d: %w", version+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.expand(`UPDATE {{schema}}.conncat_schema SET version = $1`), version); err != nil {
		return fmt.Errorf("record schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) version(ctx context.Context, q queryRower) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, s.expand(`SELECT version FROM {{schema}}.conncat_schema`)).Scan(&v)
	return v, err
}

// ensureReader creates the role catalog queries run as, unless it exists,
// and makes the catalog's user a member so that it may SET ROLE to it. A
// database administrator may create and grant it beforehand; then the
// catalog's user needs no CREATEROLE.
func (s *Store) ensureReader(ctx context.Context, tx *sql.Tx) error {
	var exists, member bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1),
		EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1 AND pg_has_role(current_user, oid, 'MEMBER'))`, s.reader).Scan(&exists, &member); err != nil {
		return fmt.Errorf("look up role %s: %w", s.reader, err)
	}
	if !exists {
		if err := s.exec(ctx, tx, `CREATE ROLE {{reader}} NOLOGIN`); err != nil {
			return fmt.Errorf("create role %s for catalog queries (or create it beforehand and grant it to the catalog's user): %w", s.reader, err)
		}
	}
	if !member {
		if err := s.exec(ctx, tx, `GRANT {{reader}} TO CURRENT_USER`); err != nil {
			return fmt.Errorf("grant role %s to the catalog's user: %w", s.reader, err)
		}
	}
	return nil
}

func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string) error {
	_, err := tx.ExecContext(ctx, s.expand(query))
	return err
}

// expand puts the quoted schema and reader role into a statement.
func (s *Store) expand(query string) string {
	return strings.NewReplacer("{{schema}}", quoteIdent(s.schema), "{{reader}}", quoteIdent(s.reader)).Replace(query)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
