package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/postgres"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/sqlparse"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// seededConns is the size of the benchmarks' catalog.
const seededConns = 1000

// roundTrips counts the round trips a handle makes: each statement (BEGIN
// and COMMIT included) and each pipelined batch.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A batch is sent as one pipeline: one round trip.
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// counted opens the test cluster with a round-trip counter.
func counted(b *testing.B) (*sql.DB, *roundTrips) {
	b.Helper()
	cfg, err := pgx.ParseConfig(testenv.Postgres(b).URL)
	if err != nil {
		b.Fatal(err)
	}
	trips := &roundTrips{}
	cfg.Tracer = trips
	db := stdlib.OpenDB(*cfg)
	b.Cleanup(func() { db.Close() })
	return db, trips
}

// seeded is a catalog in a fresh schema holding seededConns role
// connections, opened through a counting handle.
func seeded(b *testing.B) (*catalog.Catalog, *roundTrips, string) {
	b.Helper()
	db, trips := counted(b)
	schema := testenv.Postgres(b).Schema()
	st, err := postgres.New(db, schema)
	if err != nil {
		b.Fatal(err)
	}
	c, err := catalog.Open(context.Background(), st, catalog.Options{
		Keys: catalog.StaticKey([]byte("conncat-test-key-0123456789abcde")), Principal: "arn:aws:iam::210987654321:role/conncat"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range seededConns {
		exec(b, c, fmt.Sprintf("CREATE CONNECTION seed_%d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R%d')", i, i))
	}
	settle(b, db)
	return c, trips, schema
}

// settle runs VACUUM ANALYZE on what was just written, so that
// autovacuum does not wake up in the middle of the measurement.
func settle(b *testing.B, db *sql.DB) {
	b.Helper()
	if _, err := db.Exec(`VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

func exec(b *testing.B, c *catalog.Catalog, sql string) *catalog.Result {
	stmt, err := sqlparse.ParseOne(sql)
	if err != nil {
		b.Fatal(err)
	}
	res, err := c.Exec(context.Background(), stmt)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// rawTable is a table shaped like mz_connections' hot columns, filled
// like the seeded catalog, for the raw alternatives.
func rawTable(b *testing.B) (*sql.DB, *roundTrips) {
	b.Helper()
	db, trips := counted(b)
	db.SetMaxOpenConns(1) // the search_path below is one connection's
	schema := testenv.Postgres(b).Schema()
	if _, err := db.Exec(fmt.Sprintf(`CREATE SCHEMA %s; CREATE TABLE %s.t (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, arn TEXT);
		INSERT INTO %s.t SELECT 'u' || i, 'seed_' || i, 'arn:aws:iam::123456789012:role/R' || i FROM generate_series(0, %d) i`,
		schema, schema, schema, seededConns-1)); err != nil {
		b.Fatal(err)
	}
	settle(b, db)
	if _, err := db.Exec("SET search_path TO " + schema); err != nil {
		b.Fatal(err)
	}
	return db, trips
}

func reportTrips(b *testing.B, trips *roundTrips, before int64) {
	b.ReportMetric(float64(trips.n.Load()-before)/float64(b.N), "roundtrips/op")
}

// BenchmarkCreateConnection commits one CREATE CONNECTION (parse included)
// into a PostgreSQL catalog; BenchmarkRawInsert is one row inserted and
// committed with plain SQL through the same driver and server.
func BenchmarkCreateConnection(b *testing.B) {
	c, trips, _ := seeded(b)
	before := trips.n.Load()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		exec(b, c, fmt.Sprintf("CREATE CONNECTION bench_%d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')", i))
	}
	reportTrips(b, trips, before)
}

func BenchmarkRawInsert(b *testing.B) {
	db, trips := rawTable(b)
	before := trips.n.Load()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO t VALUES ($1, $2, $3)`, fmt.Sprintf("b%d", i), fmt.Sprintf("bench_%d", i), "arn:aws:iam::123456789012:role/R"); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	reportTrips(b, trips, before)
}

// BenchmarkResolveByName resolves a connection by name with everything the
// data plane needs; BenchmarkRawSelect is one row by its unique name.
func BenchmarkResolveByName(b *testing.B) {
	c, trips, _ := seeded(b)
	ctx := context.Background()
	before := trips.n.Load()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Resolve(ctx, "seed_500"); err != nil {
			b.Fatal(err)
		}
	}
	reportTrips(b, trips, before)
}

func BenchmarkRawSelect(b *testing.B) {
	db, trips := rawTable(b)
	before := trips.n.Load()
	var id, arn string
	b.ReportAllocs()
	for b.Loop() {
		if err := db.QueryRow(`SELECT id, arn FROM t WHERE name = $1`, "seed_500").Scan(&id, &arn); err != nil {
			b.Fatal(err)
		}
	}
	reportTrips(b, trips, before)
}

const seedQuery = "SELECT principal, external_id FROM mz_aws_connections aws JOIN mz_connections c ON aws.id = c.id WHERE c.name = 'seed_500'"

// BenchmarkSeedQuery is the seed document's SELECT, parsed, gated and run
// through the catalog (read-only transaction, reader role, timeout);
// BenchmarkSeedQueryRaw is the same SQL sent straight to the server.
func BenchmarkSeedQuery(b *testing.B) {
	c, trips, _ := seeded(b)
	before := trips.n.Load()
	b.ReportAllocs()
	for b.Loop() {
		if res := exec(b, c, seedQuery); len(res.Rows) != 1 {
			b.Fatalf("%v", res.Rows)
		}
	}
	reportTrips(b, trips, before)
}

func BenchmarkSeedQueryRaw(b *testing.B) {
	c, trips, _ := seeded(b)
	_ = c
	db, _ := counted(b)
	schema := ""
	if err := db.QueryRow(`SELECT nspname FROM pg_namespace ORDER BY oid DESC LIMIT 1`).Scan(&schema); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec("SET search_path TO " + schema); err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	before := trips.n.Load()
	var principal, externalID string
	b.ReportAllocs()
	for b.Loop() {
		if err := db.QueryRow(seedQuery).Scan(&principal, &externalID); err != nil {
			b.Fatal(err)
		}
	}
	reportTrips(b, trips, before)
}
