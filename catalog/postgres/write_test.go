package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/postgres"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/sqlparse"
)

// writeStore is a migrated store in a fresh schema, on a handle whose
// round trips are counted.
func writeStore(t *testing.T) (*postgres.Store, *catalog.Executor, *roundTrips) {
	t.Helper()
	db, trips := counted(t)
	st, err := postgres.New(db, testenv.Postgres(t).Schema())
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Open(context.Background(), st, catalog.Options{
		Keys: catalog.StaticKey([]byte("conncat-test-key-0123456789abcde")), Principal: "arn:aws:iam::210987654321:role/conncat"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return st, c, trips
}

func run(t *testing.T, c *catalog.Executor, text string) (*catalog.Result, error) {
	t.Helper()
	stmt, err := sqlparse.ParseOne(text)
	if err != nil {
		t.Fatal(err)
	}
	return c.Exec(context.Background(), stmt)
}

// A DDL statement's writes wait for its next read or its commit, and BEGIN
// and the lock wait for the first: a CREATE CONNECTION (one read) is two
// round trips, a Write that does nothing is none.
func TestWriteSendsWithTheNextRead(t *testing.T) {
	st, c, trips := writeStore(t)
	ctx := context.Background()
	if _, err := run(t, c, "CREATE CONNECTION warm TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')"); err != nil {
		t.Fatal(err) // prepares the statements, which costs round trips once
	}
	before := trips.n.Load()
	if _, err := run(t, c, "CREATE CONNECTION measured TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')"); err != nil {
		t.Fatal(err)
	}
	if n := trips.n.Load() - before; n != 2 {
		t.Errorf("CREATE CONNECTION took %d round trips, want 2 (the read with BEGIN and the lock; the writes with COMMIT)", n)
	}
	before = trips.n.Load()
	if err := st.Write(ctx, func(catalog.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := trips.n.Load() - before; n != 0 {
		t.Errorf("an empty write took %d round trips, want 0", n)
	}
	var name string
	if err := st.Reader().QueryRowContext(ctx, `SELECT name FROM mz_connections WHERE name = ?`, "measured").Scan(&name); err != nil {
		t.Fatalf("the CREATE did not commit: %v", err)
	}
}

// A held-back write that fails is the error of the read sent with it and
// of Write, and nothing of the transaction commits; the connection then
// serves the next Write.
func TestHeldBackWriteFailureIsReported(t *testing.T) {
	st, c, _ := writeStore(t)
	ctx := context.Background()
	if _, err := run(t, c, "CREATE SECRET s AS 'fake-value'"); err != nil {
		t.Fatal(err)
	}
	var readErr error
	err := st.Write(ctx, func(tx catalog.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE conncat_ids SET next = next + 1000`); err != nil {
			return err
		}
		// mz_secrets' name is unique: this fails, but only when sent.
		if _, err := tx.ExecContext(ctx, `INSERT INTO mz_secrets (id, name, created_at, updated_at) VALUES ('x1', 's', '', '')`); err != nil {
			return err
		}
		var n int64
		readErr = tx.QueryRowContext(ctx, `SELECT next FROM conncat_ids`).Scan(&n)
		return readErr
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("Write: %v, want the INSERT's unique violation", err)
	}
	if !errors.As(readErr, &pgErr) || pgErr.Code != "23505" {
		t.Errorf("the read sent with it: %v, want the INSERT's unique violation", readErr)
	}
	var next int64
	if err := st.Reader().QueryRowContext(ctx, `SELECT next FROM conncat_ids`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next > 1000 {
		t.Errorf("the UPDATE before the failed INSERT committed (next = %d)", next)
	}
	if _, err := run(t, c, "CREATE SECRET t AS 'fake-value'"); err != nil {
		t.Fatalf("the next statement: %v", err)
	}
}

// A read in a write transaction answers as database/sql would: NULLs into
// sql.Null* and *any, several rows in order, no row as sql.ErrNoRows,
// column names, and a failed read as the read's own error (the write then
// rolls back, and fn panicking rolls back too).
func TestWriteReads(t *testing.T) {
	st, c, _ := writeStore(t)
	ctx := context.Background()
	for _, s := range []string{"CREATE SECRET a AS 'fake-a'", "CREATE SECRET b AS 'fake-b'",
		"CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKE', SECRET ACCESS KEY = SECRET a)"} {
		if _, err := run(t, c, s); err != nil {
			t.Fatal(err)
		}
	}
	err := st.Write(ctx, func(tx catalog.Tx) error {
		var arn sql.NullString
		var duration any
		if err := tx.QueryRowContext(ctx, `SELECT assume_role_arn, assume_role_duration FROM mz_aws_connections`).Scan(&arn, &duration); err != nil {
			return err
		}
		if arn.Valid || duration != nil {
			t.Errorf("NULLs read as %v and %v", arn, duration)
		}
		rows, err := tx.QueryContext(ctx, `SELECT name, length(name) FROM mz_secrets ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var got []string
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				return err
			}
			got = append(got, name)
		}
		if strings.Join(cols, ",") != "name,length" || strings.Join(got, ",") != "a,b" || rows.Err() != nil {
			t.Errorf("rows: columns %v, names %v, err %v", cols, got, rows.Err())
		}
		var id string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM mz_secrets WHERE name = 'none'`).Scan(&id); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("no row: %v, want sql.ErrNoRows", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(ctx, func(tx catalog.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mz_object_dependencies`); err != nil {
			return err
		}
		_, err := tx.QueryContext(ctx, `SELECT no_such_column FROM mz_secrets`)
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42703" {
		t.Errorf("a failed read: %v, want 42703", err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = st.Write(ctx, func(tx catalog.Tx) error {
			var n int64
			_ = tx.QueryRowContext(ctx, `SELECT count(*) FROM mz_secrets`).Scan(&n)
			panic("engine code panicked")
		})
	}()
	if _, err := run(t, c, "DROP SECRET b"); err != nil {
		t.Fatalf("after a failed read and a panic, the catalog's lock is still held or the connection broken: %v", err)
	}
}

// TestOpenAddsMissingOptionColumns: as on SQLite, a catalog without an
// option's column (dropped by hand here) gets it when a node opens it,
// once however many open, and the option then round-trips through the
// node's replica.
func TestOpenAddsMissingOptionColumns(t *testing.T) {
	st, _, _ := writeStore(t)
	ctx := context.Background()
	db := st.DB()
	if _, err := db.Exec(`ALTER TABLE ` + st.Schema() + `.mz_aws_connections DROP COLUMN assume_role_duration`); err != nil {
		t.Fatal(err)
	}
	var again *postgres.Store
	for range 2 {
		var err error
		if again, err = postgres.New(db, st.Schema()); err != nil {
			t.Fatal(err)
		}
		if err := again.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { again.Close() })
	}
	c, err := catalog.Open(ctx, again, catalog.Options{Keys: catalog.StaticKey([]byte("conncat-test-key-0123456789abcde"))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := run(t, c, `CREATE CONNECTION d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', ASSUME ROLE DURATION = '30m')`); err != nil {
		t.Fatal(err)
	}
	res, err := run(t, c, `SELECT assume_role_duration FROM mz_aws_connections`)
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != int64(1800) {
		t.Fatalf("assume_role_duration: %v (%v), want 1800", res, err)
	}
}

// A read too big to buffer is read again, streamed, in the same
// transaction: it sees the writes sent before it, and every row.
func TestBigReadInAWriteStreams(t *testing.T) {
	st, c, _ := writeStore(t)
	ctx := context.Background()
	for i := range 20 {
		if _, err := run(t, c, fmt.Sprintf("CREATE SECRET s%02d AS 'fake-value'", i)); err != nil {
			t.Fatal(err)
		}
	}
	defer postgres.SetMaxBuffered(64)()
	var names []string
	err := st.Write(ctx, func(tx catalog.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE mz_secrets SET updated_at = 'touched' WHERE name = 's07'`); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT name, updated_at FROM mz_secrets ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name, updated string
			if err := rows.Scan(&name, &updated); err != nil {
				return err
			}
			if name == "s07" && updated != "touched" {
				t.Errorf("the read did not see the write sent before it: %q", updated)
			}
			names = append(names, name)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 20 || names[0] != "s00" || names[19] != "s19" {
		t.Errorf("read %d rows (%v), want all 20 in order", len(names), names)
	}
}
