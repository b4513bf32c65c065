package conncat_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-msk-iam-sasl-signer-go/signer"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/internal/benchdata"
	"github.com/conncat/conncat/internal/testenv"
)

func TestMain(m *testing.M) {
	code := testenv.Run(m)
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

// BenchmarkInvalidation measures how long an ALTER SECRET takes to reach
// a config already handed out: on the handle that ran it (in process),
// on another handle of a SQLite file (another process: the feed is
// polled), and on another node of a PostgreSQL catalog (LISTEN/NOTIFY).
// ns/op is the mean; p99-ns the 99th percentile.
func BenchmarkInvalidation(b *testing.B) {
	for _, tc := range []struct{ name, backend string }{
		{"in-process", "sqlite"}, {"other-handle-sqlite", "sqlite"}, {"other-node-postgres", "postgres"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := newPlace(b, tc.backend)
			writer := p.open(b)
			reader := writer
			if tc.name != "in-process" {
				reader = p.open(b)
			}
			ctx := context.Background()
			mustExec(b, writer, `CREATE SECRET sk AS 'fake-0'; CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET sk)`)
			cfg, err := reader.AWSConfig(ctx, "k")
			if err != nil {
				b.Fatal(err)
			}
			var latencies []time.Duration
			i := 0
			for b.Loop() {
				i++
				want := fmt.Sprintf("fake-%d", i)
				mustExec(b, writer, "ALTER SECRET sk AS '"+want+"'")
				start := time.Now()
				for {
					c, err := cfg.Credentials.Retrieve(ctx)
					if err == nil && c.SecretAccessKey == want {
						break
					}
					if time.Since(start) > testenv.HangBound {
						b.Fatalf("change %d not seen after %v", i, testenv.HangBound)
					}
					time.Sleep(50 * time.Microsecond) // polling pause: the latency measured is when the change was seen
				}
				latencies = append(latencies, time.Since(start))
			}
			slices.Sort(latencies)
			var sum time.Duration
			for _, l := range latencies {
				sum += l
			}
			b.ReportMetric(float64(sum.Nanoseconds())/float64(len(latencies)), "ns/op")
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}

// BenchmarkObservedRetrieve is the data plane's hot path, a config's
// cached Retrieve, with no logger and meter provider (bare) and with a
// real slog JSON logger and an OpenTelemetry SDK meter provider (observed),
// same run: events and metrics are recorded off this path, so both must
// match and neither may allocate.
func BenchmarkObservedRetrieve(b *testing.B) {
	for _, observed := range []bool{false, true} {
		name := "bare"
		if observed {
			name = "observed"
		}
		b.Run(name, func(b *testing.B) {
			fake := awstest.NewSTS()
			defer fake.Close()
			key, secret := fake.AddUser(engineUser)
			opts := []conncat.Option{conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret))}
			if observed {
				provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				defer provider.Shutdown(context.Background())
				opts = append(opts, conncat.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))), conncat.WithMeterProvider(provider))
			}
			cat := openTest(b, opts...)
			mustExec(b, cat, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
			if err := fake.AddRole(customerRole, pastedTrustPolicy(b, cat, "r")); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			cfg, err := cat.AWSConfig(ctx, "r")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthTokens mints RDS and MSK tokens through conncat (the
// connection resolved, its cached credentials, the signature) beside the
// libraries alone with static credentials, same run. Once the
// credentials are cached no token costs an STS call: the benchmark fails
// if one does.
func BenchmarkAuthTokens(b *testing.B) {
	w := newTokenWorld(b)
	cat, fake := w.cat, w.fake
	ctx := context.Background()
	cfg, err := cat.AWSConfig(ctx, "r")
	if err != nil {
		b.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		b.Fatal(err)
	}
	static := awscreds.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	const endpoint, user = "orders.abc123.eu-west-1.rds.amazonaws.com:5432", "app_writer"
	run := func(name string, mint func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := mint(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("rds/conncat", func() error { _, err := cat.RDSAuthToken(ctx, "r", endpoint, user); return err })
	run("rds/sdk-BuildAuthToken-static", func() error {
		_, err := auth.BuildAuthToken(ctx, endpoint, "eu-west-1", user, static)
		return err
	})
	run("msk/conncat", func() error { _, err := cat.MSKAuthToken(ctx, "r"); return err })
	run("msk/signer-static", func() error {
		_, _, err := signer.GenerateAuthTokenFromCredentialsProvider(ctx, "eu-west-1", static)
		return err
	})
	if n := fake.Calls("AssumeRole"); n != 1 {
		b.Fatalf("%d AssumeRole calls; tokens must use the cached credentials", n)
	}
}
