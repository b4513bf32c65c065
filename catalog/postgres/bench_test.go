package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/postgres"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/internal/benchdata"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/sqlparse"
)

func TestMain(m *testing.M) {
	code := testenv.Run(m)
	benchdata.Cleanup()
	os.Exit(code)
}

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
func counted(b testing.TB) (*sql.DB, *roundTrips) {
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
func seeded(b *testing.B) (*catalog.Executor, *roundTrips, string) {
	return seededWith(b, false)
}

// seededWith is seeded, opened WithStaleReads or not.
func seededWith(b *testing.B, staleReads bool) (*catalog.Executor, *roundTrips, string) {
	b.Helper()
	db, trips := counted(b)
	schema := testenv.Postgres(b).Schema()
	st, err := postgres.New(db, schema)
	if err != nil {
		b.Fatal(err)
	}
	st.StaleReads = staleReads
	c, err := catalog.Open(context.Background(), st, catalog.Options{
		Keys: catalog.StaticKey([]byte("conncat-test-key-0123456789abcde")), Principal: "arn:aws:iam::210987654321:role/conncat"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
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

func exec(b *testing.B, c *catalog.Executor, sql string) *catalog.Result {
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

// BenchmarkSeedQuery is the seed document's SELECT, parsed, gated, made
// fresh (one round trip for the latest change) and run in the node's
// replica; BenchmarkSeedQueryStaleReads skips the round trip
// (WithStaleReads); BenchmarkSeedQueryRaw is the same SQL sent straight to
// the server. catalog's BenchmarkSeedQuery/conns=1000 is the same query on
// a SQLite file of the same size.
func BenchmarkSeedQuery(b *testing.B) {
	c, trips, _ := seeded(b)
	benchSeedQuery(b, c, trips)
}

func BenchmarkSeedQueryStaleReads(b *testing.B) {
	c, trips, _ := seededWith(b, true)
	benchSeedQuery(b, c, trips)
}

func benchSeedQuery(b *testing.B, c *catalog.Executor, trips *roundTrips) {
	exec(b, c, seedQuery) // the replica catches up with the seeding first
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

// bigSchemas are the schemas bigCatalog filled, by size: filled once per
// process, so that every run of a benchmark reads the same tables (a new
// schema a run would leave PostgreSQL's cache holding the last ones).
var bigSchemas = map[int]string{}

// bigCatalog copies the benchmark catalog of n connections (the same rows
// the SQLite benchmarks read, made by CREATE CONNECTION) into a schema of
// its own, once per process, and returns the schema.
func bigCatalog(b *testing.B, db *sql.DB, n int) string {
	b.Helper()
	if schema, ok := bigSchemas[n]; ok {
		return schema
	}
	ctx := context.Background()
	schema := testenv.Postgres(b).Schema()
	st, err := postgres.New(db, schema)
	if err != nil {
		b.Fatal(err)
	}
	c, err := catalog.Open(ctx, st, catalog.Options{Keys: benchdata.Key, Principal: benchdata.Principal})
	if err != nil {
		b.Fatal(err)
	}
	c.Close()
	src, err := sql.Open("sqlite3", sqlite.DSN(benchdata.Catalog(b, n)))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		// The copy is not a change of the catalog's: no trigger runs (a
		// node loads everything at open anyway).
		if _, err := pc.Exec(ctx, `SET session_replication_role = replica`); err != nil {
			return err
		}
		for _, t := range catalog.StoredTables {
			if err := copyTable(ctx, src, pc, schema, t.Name); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
		}
		_, err := pc.Exec(ctx, `SET session_replication_role = DEFAULT`)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	settle(b, db)
	bigSchemas[n] = schema
	return schema
}

// copyTable copies one table's rows from the SQLite file into PostgreSQL.
func copyTable(ctx context.Context, src *sql.DB, dst *pgx.Conn, schema, table string) error {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	var all [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		all = append(all, vals)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = dst.CopyFrom(ctx, pgx.Identifier{schema, table}, cols, pgx.CopyFromRows(all))
	return err
}

// BenchmarkReplicaLoad opens a node on a catalog of 100,000 connections:
// schema and key checked, the replica loaded whole; it reports the
// replica's size per 1,000 connections (its files, which the OS caches).
// BenchmarkReplicaLoadReadOnly reads the same rows through pgx and
// discards them: what the load costs before SQLite stores anything.
func BenchmarkReplicaLoad(b *testing.B) {
	db, _ := counted(b)
	const n = 100_000
	schema := bigCatalog(b, db, n)
	tmp := b.TempDir()
	b.Setenv("TMPDIR", tmp) // where replicas go
	ctx := context.Background()
	var size int64
	b.ReportAllocs()
	b.ResetTimer() // the copy above is setup
	for i := 0; i < b.N; i++ {
		st, err := postgres.New(db, schema)
		if err != nil {
			b.Fatal(err)
		}
		c, err := catalog.Open(ctx, st, catalog.Options{Keys: benchdata.Key, Principal: benchdata.Principal})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		size = dirSize(b, tmp)
		if res := exec(b, c, `SELECT count(*) FROM mz_aws_connections`); res.Rows[0][0] != int64(n) {
			b.Fatalf("the replica holds %v connections", res.Rows)
		}
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(size)/(n/1000), "replica-B/1000conns")
}

func BenchmarkReplicaLoadReadOnly(b *testing.B) {
	db, _ := counted(b)
	schema := bigCatalog(b, db, 100_000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range catalog.StoredTables {
			rows, err := db.QueryContext(ctx, `SELECT * FROM `+schema+`.`+t.Name)
			if err != nil {
				b.Fatal(err)
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					b.Fatal(err)
				}
			}
			rows.Close()
		}
	}
}

// dirSize is the bytes of every file under dir.
func dirSize(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}

// BenchmarkFeedVisibility is the time from a DDL's commit on one node to
// its visibility in another node's SELECT when that node reads
// WithStaleReads, so only its change feed (LISTEN, then a catch-up) brings
// it: p50 and p99 reported. Without StaleReads a SELECT sees the DDL at
// once by contract (TestSelectSeesEveryCommittedDDL).
func BenchmarkFeedVisibility(b *testing.B) {
	writer, _, schema := seeded(b)
	db, _ := counted(b)
	st, err := postgres.New(db, schema)
	if err != nil {
		b.Fatal(err)
	}
	st.StaleReads = true
	ctx, cancel := context.WithCancel(context.Background())
	reader, err := catalog.Open(ctx, st, catalog.Options{Keys: catalog.StaticKey([]byte("conncat-test-key-0123456789abcde"))})
	if err != nil {
		b.Fatal(err)
	}
	watched := make(chan struct{})
	go func() { defer close(watched); st.Watch(ctx, func([]string, bool) {}) }()
	defer func() { cancel(); <-watched; reader.Close() }()
	var took []time.Duration
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("visible_%d", i)
		exec(b, writer, "CREATE CONNECTION "+name+" TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
		committed := time.Now()
		for {
			res := exec(b, reader, "SELECT count(*) FROM mz_connections WHERE name = '"+name+"'")
			if res.Rows[0][0] == int64(1) {
				break
			}
			runtime.Gosched()
		}
		took = append(took, time.Since(committed))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkBlockOfTen commits ten CREATE CONNECTIONs as one transaction
// block into a PostgreSQL catalog (each tried as it comes, the block
// replayed at COMMIT: 55 statements applied in all, in 11 transactions);
// BenchmarkTenStatements is the same ten, each its own transaction.
func BenchmarkBlockOfTen(b *testing.B) { benchmarkTen(b, true) }

func BenchmarkTenStatements(b *testing.B) { benchmarkTen(b, false) }

func benchmarkTen(b *testing.B, block bool) {
	c, trips, _ := seeded(b)
	ctx := context.Background()
	before := trips.n.Load()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		blk := c.Begin(false)
		for range 10 {
			i++
			text := fmt.Sprintf("CREATE CONNECTION bench_%d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')", i)
			if !block {
				exec(b, c, text)
				continue
			}
			stmt, err := sqlparse.ParseOne(text)
			if err == nil {
				_, err = blk.Exec(ctx, stmt)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if _, err := blk.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reportTrips(b, trips, before)
}
