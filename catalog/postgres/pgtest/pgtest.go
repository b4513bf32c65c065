// Package pgtest registers PostgreSQL's fixture for the tests every store
// must pass alike (see internal/storetest): a fresh schema per catalog in
// the test binary's throwaway cluster (started on first use).
package pgtest

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "github.com/conncat/conncat/catalog/postgres" // the backend, and pgx's driver
	"github.com/conncat/conncat/internal/storetest"
	"github.com/conncat/conncat/internal/testenv"
)

func init() {
	storetest.Register(storetest.Fixture{Name: "postgres", New: newPlace})
}

func newPlace(t testing.TB) storetest.Place {
	cluster := testenv.Postgres(t)
	schema := cluster.Schema()
	p := storetest.Place{Backend: "postgres", Target: cluster.URL}
	p.Config.Schema = schema
	p.DB = func(t testing.TB) *sql.DB {
		db, err := sql.Open("pgx", cluster.URL+"&search_path="+schema)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	p.Raw = func(t testing.TB) string { return dumpSchema(t, p.DB(t), schema) }
	p.Tables = func(t testing.TB) map[string][]string {
		return storetest.ColumnsOf(t, p.DB(t), `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, schema)
	}
	p.OwnTables = map[string]string{"conncat_changes": "the change log every node's replica follows"}
	return p
}

// dumpSchema is every row of every table of a schema, bytea included.
func dumpSchema(t testing.TB, db *sql.DB, schema string) string {
	t.Helper()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		var dump sql.NullString
		q := fmt.Sprintf(`SELECT string_agg(t::text, E'\n') FROM %q.%q t`, schema, table)
		if err := db.QueryRow(q).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		b.WriteString(dump.String)
	}
	return b.String()
}
