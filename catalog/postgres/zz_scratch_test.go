package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/postgres"
	"github.com/conncat/conncat/internal/testenv"
)

type sqlLog struct {
	mu  sync.Mutex
	on  bool
	sql []string
}

func (r *sqlLog) add(s string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.sql = append(r.sql, fmt.Sprintf("%s %v", s, args))
	}
}
func (r *sqlLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(d.SQL, d.Args)
	return ctx
}
func (r *sqlLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *sqlLog) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.add("-- batch", nil)
	return ctx
}
func (r *sqlLog) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.add("   "+d.SQL, d.Args)
}
func (r *sqlLog) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func BenchmarkZZLog(b *testing.B) {
	cfg, _ := pgx.ParseConfig(testenv.Postgres(b).URL)
	l := &sqlLog{}
	cfg.Tracer = l
	db := stdlib.OpenDB(*cfg)
	st, _ := postgres.New(db, testenv.Postgres(b).Schema())
	c, err := catalog.Open(context.Background(), st, catalog.Options{
		Keys: catalog.StaticKey([]byte("conncat-test-key-0123456789abcde")), Principal: "arn:aws:iam::210987654321:role/conncat"})
	if err != nil {
		b.Fatal(err)
	}
	exec(b, c, "CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
	l.on = true
	exec(b, c, "CREATE CONNECTION b TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
	l.on = false
	for _, s := range l.sql {
		fmt.Println(s)
	}
	b.SkipNow()
}
