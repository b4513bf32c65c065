package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

const benchConns = 1000

// benchServer runs the server in process over a SQLite catalog holding
// benchConns connections and returns a URL with the password.
func benchServer(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	cfg := &config{listen: "127.0.0.1:0", user: "conncat", maxConns: 100, maxStartups: 32, idleTimeout: time.Minute,
		authTimeout: time.Minute, writeTimeout: time.Minute, passwordFile: filepath.Join(dir, "password")}
	if err := os.WriteFile(cfg.passwordFile, []byte(testPassword), 0o600); err != nil {
		b.Fatal(err)
	}
	srv, err := newServer(cfg, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cat, err := conncat.Open(ctx, filepath.Join(dir, "c.db"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchConns {
		if _, err := cat.Exec(ctx, fmt.Sprintf("CREATE CONNECTION c%d TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')", i)); err != nil {
			b.Fatal(err)
		}
	}
	srv.cat = cat
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.serve(ctx, l) }()
	b.Cleanup(func() { cancel(); l.Close(); cat.Close() })
	return fmt.Sprintf("postgres://conncat:%s@%s/conncat?sslmode=disable", testPassword, l.Addr())
}

// benchPostgres is the test cluster with the same table shape and rows.
func benchPostgres(b *testing.B) string {
	b.Helper()
	cluster := testenv.Postgres(b)
	schema := cluster.Schema()
	conn, err := pgx.Connect(context.Background(), cluster.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), fmt.Sprintf(`CREATE SCHEMA %[1]s;
		CREATE TABLE %[1]s.mz_connections (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL);
		INSERT INTO %[1]s.mz_connections SELECT 'u' || i, 'c' || i, 'aws' FROM generate_series(1, %[2]d) i`, schema, benchConns)); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), "VACUUM ANALYZE "+schema+".mz_connections"); err != nil {
		b.Fatal(err)
	}
	return cluster.URL + "&search_path=" + schema
}

// BenchmarkSelectByID is one parameterised SELECT by id per op through
// pgx (prepared once, then Bind/Execute), against the conncat server and
// against PostgreSQL itself, same client, same query.
func BenchmarkSelectByID(b *testing.B) {
	for _, target := range []struct {
		name string
		url  func(*testing.B) string
	}{{"conncat-server", benchServer}, {"postgresql", benchPostgres}} {
		b.Run(target.name, func(b *testing.B) {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, target.url(b))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			var name string
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if err := conn.QueryRow(ctx, `SELECT name FROM mz_connections WHERE id = $1`, fmt.Sprintf("u%d", 1+i%benchConns)).Scan(&name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConnect is one connection set up and closed per op. The
// server authenticates with SCRAM-SHA-256 (4,096 PBKDF2 rounds on the
// client); the test cluster trusts loopback, so its figure has no
// authentication in it and is the floor, not a like-for-like comparison.
func BenchmarkConnect(b *testing.B) {
	for _, target := range []struct {
		name string
		url  func(*testing.B) string
	}{{"conncat-server", benchServer}, {"postgresql-trust", benchPostgres}} {
		b.Run(target.name, func(b *testing.B) {
			ctx := context.Background()
			url := target.url(b)
			for b.Loop() {
				conn, err := pgx.Connect(ctx, url)
				if err != nil {
					b.Fatal(err)
				}
				conn.Close(ctx)
			}
		})
	}
}
