package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/conncat/conncat/catalog"
)

// migrations are applied in order, each in the same transaction as the
// version bump, under the catalog's advisory lock. Append only. The
// tables have SQLite's columns in SQLite's order, with the same types
// (timestamps as RFC 3339 text, durations as integers), so that SELECT
// copies into a node's replica exactly (SELECT runs there, in SQLite);
// text compares byte by byte (COLLATE "C") for the executor's own reads,
// whatever the database's locale. {{schema}} is replaced by the quoted
// schema, {{lockkey}} by the catalog's lock, {{seqsetting}} by the
// setting that holds a transaction's change number.
//
// Migration 1 once also granted a reader role (conncat_reader_<schema>)
// SELECT on the stored tables; SELECT no longer runs in PostgreSQL, so
// the role is no longer created or used (an operator may drop it), and
// those grants were taken out of the migration: they gave no table or
// column, so every catalog at version 1 has the same tables.
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
`,
	// 2: the change log every node's replica follows (see replica.go).
	// Each transaction that writes a stored table gets the next change
	// number and records the ID of every object whose rows it wrote, from
	// triggers, so that no writer can forget to. The trigger takes the
	// catalog's lock (which Write already holds; taking it again is free),
	// so numbers follow commit order with no gaps whoever writes. Each
	// number is announced on the catalog's channel ("#<n>", at commit),
	// so that nodes reading WithStaleReads hear of a CREATE too.
	`
CREATE TABLE {{schema}}.conncat_changes (
	seq       BIGINT NOT NULL,
	object_id TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (seq, object_id)
);

CREATE FUNCTION {{schema}}.conncat_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	change bigint := nullif(current_setting('{{seqsetting}}', true), '')::bigint;
BEGIN
	IF change IS NULL THEN
		PERFORM pg_advisory_xact_lock({{lockkey}});
		SELECT coalesce(max(c.seq), 0) + 1 INTO change FROM {{schema}}.conncat_changes c;
		PERFORM set_config('{{seqsetting}}', change::text, true);
		PERFORM pg_notify('{{channel}}', '#' || change);
		IF change % 1000 = 0 THEN
			DELETE FROM {{schema}}.conncat_changes c WHERE c.seq <= change - {{keptchanges}};
		END IF;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO {{schema}}.conncat_changes (seq, object_id)
			VALUES (change, to_jsonb(NEW) ->> TG_ARGV[0]) ON CONFLICT DO NOTHING;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO {{schema}}.conncat_changes (seq, object_id)
			VALUES (change, to_jsonb(OLD) ->> TG_ARGV[0]) ON CONFLICT DO NOTHING;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER conncat_changes AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.mz_connections
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.conncat_record_change('id');
CREATE TRIGGER conncat_changes AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.mz_aws_connections
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.conncat_record_change('id');
CREATE TRIGGER conncat_changes AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.mz_s3_connections
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.conncat_record_change('id');
CREATE TRIGGER conncat_changes AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.mz_secrets
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.conncat_record_change('id');
CREATE TRIGGER conncat_changes AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.mz_object_dependencies
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.conncat_record_change('object_id');
CREATE TRIGGER conncat_changes AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.mz_connection_validations
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.conncat_record_change('connection_id');
`,
	// 3: tenants, as SQLite's migration 7: owners, privileges (aclitem
	// lists as text) and the audit trail, which the change log covers so
	// that every node's replica holds one history.
	`
ALTER TABLE {{schema}}.mz_connections ADD COLUMN owner_id TEXT COLLATE "C", ADD COLUMN privileges TEXT COLLATE "C";
ALTER TABLE {{schema}}.mz_secrets ADD COLUMN owner_id TEXT COLLATE "C", ADD COLUMN privileges TEXT COLLATE "C";
CREATE TABLE {{schema}}.mz_audit_events (
	id          BIGINT PRIMARY KEY,
	event_type  TEXT COLLATE "C" NOT NULL,
	object_type TEXT COLLATE "C" NOT NULL,
	details     TEXT COLLATE "C" NOT NULL,
	"user"      TEXT COLLATE "C",
	occurred_at TEXT COLLATE "C" NOT NULL
);
CREATE TRIGGER conncat_changes AFTER INSERT OR UPDATE OR DELETE ON {{schema}}.mz_audit_events
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.conncat_record_change('id');
`,
	// 4: as SQLite's migration 8, the settings every node must agree on.
	`
CREATE TABLE {{schema}}.conncat_settings (name TEXT COLLATE "C" PRIMARY KEY, value TEXT COLLATE "C" NOT NULL);
`,
	// 5: audit events are numbered in commit order (under the catalog's
	// lock), so a replica takes the rows above its highest number as new
	// (catalog.StoredTable.IntegerKey) and the log need not name each one:
	// the event of a change commits with the change's own rows, whose
	// triggers announce it. This spares every DDL statement a second
	// trigger call (about 20 µs, a twentieth of a CREATE). The log still
	// names removed rows (retention) and the events of use, which may be
	// written alone; WHEN is decided without calling the function.
	`
DROP TRIGGER conncat_changes ON {{schema}}.mz_audit_events;
CREATE TRIGGER conncat_changes AFTER UPDATE OR DELETE ON {{schema}}.mz_audit_events
	FOR EACH ROW EXECUTE FUNCTION {{schema}}.conncat_record_change('id');
CREATE TRIGGER conncat_use_events AFTER INSERT ON {{schema}}.mz_audit_events
	FOR EACH ROW WHEN (NEW.event_type IN ('validate', 'assume_role'))
	EXECUTE FUNCTION {{schema}}.conncat_record_change('id');
`,
}

// keptChanges is how many changes the log keeps; a replica further
// behind than that loads everything again.
const keptChanges = 10000

// SchemaVersion is the version a fully migrated catalog has.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema to the current version and adds the option
// columns it lacks (see catalog.OptionColumns).
func (s *Store) migrate(ctx context.Context) error {
	if err := s.migrateNumbered(ctx); err != nil {
		return err
	}
	return s.addOptionColumns(ctx)
}

// addOptionColumns adds the option columns mz_aws_connections lacks, under
// the catalog's lock, so that nodes opening together add each once; a
// catalog that has them all is only read.
func (s *Store) addOptionColumns(ctx context.Context) error {
	if missing, err := s.missingOptionColumns(ctx, s.db); err != nil || len(missing) == 0 {
		return err
	}
	tx, err := s.lockedTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	missing, err := s.missingOptionColumns(ctx, tx)
	if err != nil {
		return err
	}
	for _, c := range missing {
		kind := `TEXT COLLATE "C"`
		if c.Integer {
			kind = "BIGINT"
		} else if c.Secret {
			kind = `TEXT COLLATE "C" REFERENCES {{schema}}.mz_secrets (id)`
		}
		if err := s.exec(ctx, tx, `ALTER TABLE {{schema}}.mz_aws_connections ADD COLUMN IF NOT EXISTS `+quoteIdent(c.Name)+` `+kind); err != nil {
			return fmt.Errorf("add option column %s: %w", c.Name, err)
		}
	}
	return tx.Commit()
}

// missingOptionColumns lists the option columns mz_aws_connections lacks.
func (s *Store) missingOptionColumns(ctx context.Context, q catalog.SQLHandle) ([]catalog.OptionColumn, error) {
	return catalog.MissingOptionColumns(ctx, catalog.SQLTx{Handle: q},
		`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'mz_aws_connections'`, s.schema)
}

// lockedTx begins a transaction that holds the catalog's advisory lock
// (the one Write takes), for changes of the schema.
func (s *Store) lockedTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockKey); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("lock catalog: %w", err)
	}
	return tx, nil
}

// migrateNumbered applies the numbered migrations under a
// transaction-scoped advisory lock on the catalog, so that nodes starting
// together migrate once; a catalog already current is only read.
func (s *Store) migrateNumbered(ctx context.Context) error {
	if v, err := s.version(ctx, s.db); err == nil && v == SchemaVersion() {
		return nil
	}
	tx, err := s.lockedTx(ctx)
	if err != nil {
		return fmt.Errorf("migration: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.expand(`CREATE SCHEMA IF NOT EXISTS {{schema}};
		CREATE TABLE IF NOT EXISTS {{schema}}.conncat_schema (version INTEGER NOT NULL)`)); err != nil {
		return fmt.Errorf("create schema %s: %w", s.schema, err)
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

func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string) error {
	_, err := tx.ExecContext(ctx, s.expand(query))
	return err
}

// expand puts the quoted schema, the lock and the settings into a
// statement.
func (s *Store) expand(query string) string { return s.placeholders.Replace(query) }

// newPlaceholders is the replacer expand uses, built once per store
// (building one cost ~35 µs, more than the round trip it prepared).
func (s *Store) newPlaceholders() *strings.Replacer {
	return strings.NewReplacer("{{schema}}", quoteIdent(s.schema), "{{lockkey}}", strconv.FormatInt(s.lockKey, 10),
		"{{seqsetting}}", s.seqSetting(), "{{keptchanges}}", strconv.Itoa(keptChanges), "{{channel}}", s.channel())
}

// seqSetting names the transaction-local setting that holds the change
// number of the transaction writing the catalog.
func (s *Store) seqSetting() string { return "conncat.change_" + s.schema }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
