package catalog_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/sqlparse"
)

// seed fills a catalog with n role connections through the catalog itself.
func seed(b *testing.B, c *catalog.Catalog, n int) {
	b.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		stmt, err := sqlparse.ParseOne(fmt.Sprintf("CREATE CONNECTION seed_%d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R%d')", i, i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Exec(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
}

var sizes = []int{1_000, 100_000}

// BenchmarkCreateConnection commits one CREATE CONNECTION (parse included)
// into a catalog holding n connections; BenchmarkRawInsert is one row
// inserted and committed with plain SQL on the same kind of database.
func BenchmarkCreateConnection(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			c, _ := newCatalog(b, catalog.Options{Principal: "arn:aws:iam::000000000000:role/conncat"})
			seed(b, c, n)
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				i++
				stmt, err := sqlparse.ParseOne(fmt.Sprintf("CREATE CONNECTION bench_%d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')", i))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Exec(ctx, stmt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func rawDB(b *testing.B, n int) *sql.DB {
	db := openDB(b, filepath.Join(b.TempDir(), "raw.db"))
	if _, err := db.Exec(`CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, arn TEXT)`); err != nil {
		b.Fatal(err)
	}
	tx, _ := db.Begin()
	for i := 0; i < n; i++ {
		if _, err := tx.Exec(`INSERT INTO t VALUES (?, ?, ?)`, fmt.Sprintf("u%d", i), fmt.Sprintf("seed_%d", i), "arn:aws:iam::123456789012:role/R"); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return db
}

func BenchmarkRawInsert(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			db := rawDB(b, n)
			i := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				i++
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Exec(`INSERT INTO t VALUES (?, ?, ?)`, fmt.Sprintf("b%d", i), fmt.Sprintf("bench_%d", i), "arn:aws:iam::123456789012:role/R"); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResolveByName looks a connection up by name with everything the
// data plane needs; BenchmarkRawSelect is one row by primary key.
func BenchmarkResolveByName(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			c, _ := newCatalog(b, catalog.Options{})
			seed(b, c, n)
			ctx := context.Background()
			name := fmt.Sprintf("seed_%d", n/2)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Resolve(ctx, name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawSelect(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			db := rawDB(b, n)
			name := fmt.Sprintf("seed_%d", n/2)
			var id, arn string
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := db.QueryRow(`SELECT id, arn FROM t WHERE name = ?`, name).Scan(&id, &arn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSeedQuery is the seed document's SELECT, parsed, gated and run.
func BenchmarkSeedQuery(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			c, _ := newCatalog(b, catalog.Options{})
			seed(b, c, n)
			ctx := context.Background()
			q := fmt.Sprintf("SELECT principal, external_id FROM mz_aws_connections aws JOIN mz_connections c ON aws.id = c.id WHERE c.name = 'seed_%d'", n/2)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				stmt, err := sqlparse.ParseOne(q)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Exec(ctx, stmt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
