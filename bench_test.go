package conncat_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/internal/benchdata"
	"github.com/conncat/conncat/internal/testenv"
)

func TestMain(m *testing.M) {
	code := testenv.RunWithPostgres(m)
	benchdata.Cleanup()
	os.Exit(code)
}

const openSize = 100_000

// BenchmarkOpen opens (and closes) a catalog holding 100k connections:
// migrations checked, key checked, WAL confirmed. B/op shows that Open
// does not load the catalog; the alternatives in the same run are the
// floor (the SQLite file opened and pinged) and what loading every
// connection would cost.
func BenchmarkOpen(b *testing.B) {
	path := benchdata.Catalog(b, openSize)
	ctx := context.Background()
	b.Run("conncat.Open/conns=100000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cat, err := conncat.Open(ctx, path, conncat.WithKeyProvider(benchdata.Key), conncat.WithPrincipal(benchdata.Principal))
			if err != nil {
				b.Fatal(err)
			}
			cat.Close()
		}
	})
	b.Run("sqlite-open+ping/conns=100000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			db, err := sql.Open("sqlite3", sqlite.DSN(path))
			if err != nil {
				b.Fatal(err)
			}
			if err := db.PingContext(ctx); err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	b.Run("load-all-connections/conns=100000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			db, err := sql.Open("sqlite3", sqlite.DSN(path))
			if err != nil {
				b.Fatal(err)
			}
			rows, err := db.QueryContext(ctx, `SELECT c.id, c.name, c.create_sql, a.assume_role_arn, a.external_id, a.example_trust_policy
				FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id`)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var id, name, createSQL, arn, ext, policy string
				if err := rows.Scan(&id, &name, &createSQL, &arn, &ext, &policy); err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows.Close()
			db.Close()
			if n != openSize {
				b.Fatalf("loaded %d connections", n)
			}
		}
	})
}
