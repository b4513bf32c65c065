package catalog_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/benchdata"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/sqlparse"
)

func TestMain(m *testing.M) {
	code := testenv.Run(m)
	benchdata.Cleanup()
	os.Exit(code)
}

// sizes are the catalog sizes of issue 8.
var sizes = []int{1_000, 10_000, 100_000}

// seeded opens a copy of a catalog holding n connections.
func seeded(b *testing.B, n int) *catalog.Executor {
	b.Helper()
	db := openDB(b, benchdata.Catalog(b, n))
	c, err := catalog.Open(context.Background(), storeOf(b, db), catalog.Options{Keys: benchdata.Key, Principal: benchdata.Principal})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// rawDB is the alternative: the same kind of SQLite file (same DSN, so
// the same statement cache, WAL and synchronous setting) holding n rows of
// a 3-column table with a unique name index — the least a catalog could do.
func rawDB(b *testing.B, n int) *sql.DB {
	b.Helper()
	db := openDB(b, b.TempDir()+"/raw.db")
	if _, err := db.Exec(`CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, arn TEXT)`); err != nil {
		b.Fatal(err)
	}
	tx, _ := db.Begin()
	for i := 0; i < n; i++ {
		if _, err := tx.Exec(`INSERT INTO t VALUES (?, ?, ?)`, fmt.Sprintf("u%d", i), benchdata.Name(i), "arn:aws:iam::123456789012:role/R"); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkCreateConnection commits one CREATE CONNECTION (parse included)
// into a catalog holding n connections; BenchmarkRawInsert is one row
// inserted and committed with plain SQL on the same kind of database.
func BenchmarkCreateConnection(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			c := seeded(b, n)
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
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

func BenchmarkRawInsert(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			db := rawDB(b, n)
			i := 0
			b.ReportAllocs()
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
// data plane needs; BenchmarkRawSelect is one row by its unique name.
func BenchmarkResolveByName(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			c := seeded(b, n)
			ctx := context.Background()
			name := benchdata.Name(n / 2)
			b.ReportAllocs()
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
			name := benchdata.Name(n / 2)
			var id, arn string
			b.ReportAllocs()
			for b.Loop() {
				if err := db.QueryRow(`SELECT id, arn FROM t WHERE name = ?`, name).Scan(&id, &arn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const seedQuery = "SELECT principal, external_id FROM mz_aws_connections aws JOIN mz_connections c ON aws.id = c.id WHERE c.name = '%s'"

// BenchmarkSeedQuery is the seed document's SELECT, parsed, gated and run
// through the catalog; BenchmarkSeedQueryRaw is the same SQL handed to
// SQLite directly, on the same file.
func BenchmarkSeedQuery(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		benchSeedQuery(b, n)
	}
}

func benchSeedQuery(b *testing.B, n int) {
	b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
		c := seeded(b, n)
		ctx := context.Background()
		q := fmt.Sprintf(seedQuery, benchdata.Name(n/2))
		b.ReportAllocs()
		for b.Loop() {
			stmt, err := sqlparse.ParseOne(q)
			if err != nil {
				b.Fatal(err)
			}
			res, err := c.Exec(ctx, stmt)
			if err != nil || len(res.Rows) != 1 {
				b.Fatalf("%v %v", res, err)
			}
		}
	})
}

func BenchmarkSeedQueryRaw(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		benchSeedQueryRaw(b, n)
	}
}

func benchSeedQueryRaw(b *testing.B, n int) {
	b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
		db := openDB(b, benchdata.Catalog(b, n))
		q := fmt.Sprintf(seedQuery, benchdata.Name(n/2))
		var principal, externalID string
		b.ReportAllocs()
		for b.Loop() {
			if err := db.QueryRow(q).Scan(&principal, &externalID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBlockOfTen commits ten CREATE CONNECTIONs as one transaction
// block (each tried as it comes, the block replayed at COMMIT) into a
// catalog of 1,000 connections; BenchmarkTenStatements is the same ten,
// each its own transaction: the block's price for landing whole.
func BenchmarkBlockOfTen(b *testing.B) { benchmarkTen(b, true) }

func BenchmarkTenStatements(b *testing.B) { benchmarkTen(b, false) }

func benchmarkTen(b *testing.B, block bool) {
	c := seeded(b, 1_000)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		var blk *catalog.Block
		if block {
			blk = c.Begin(false)
		}
		for range 10 {
			i++
			stmt, err := sqlparse.ParseOne(fmt.Sprintf("CREATE CONNECTION bench_%d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')", i))
			if err == nil && block {
				_, err = blk.Exec(ctx, stmt)
			} else if err == nil {
				_, err = c.Exec(ctx, stmt)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if block {
			if _, err := blk.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSeedQueryAsRole is the seed SELECT run by a role that may use
// every connection (granted USAGE to PUBLIC), on 1,000 connections: the
// views that filter a role's rows, against BenchmarkSeedQuery's
// superuser, who reads the tables as they are.
func BenchmarkSeedQueryAsRole(b *testing.B) {
	c := seeded(b, 1000)
	stmt, _ := sqlparse.ParseOne(`GRANT USAGE ON ALL CONNECTIONS TO PUBLIC`)
	if _, err := c.Exec(context.Background(), stmt); err != nil {
		b.Fatal(err)
	}
	ctx := catalog.WithRole(context.Background(), "tenant")
	q := fmt.Sprintf(seedQuery, benchdata.Name(500))
	b.ReportAllocs()
	for b.Loop() {
		stmt, err := sqlparse.ParseOne(q)
		if err != nil {
			b.Fatal(err)
		}
		res, err := c.Exec(ctx, stmt)
		if err != nil || len(res.Rows) != 1 {
			b.Fatalf("%v %v", res, err)
		}
	}
}
