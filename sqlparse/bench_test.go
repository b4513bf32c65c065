package sqlparse_test

import (
	"testing"

	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	"github.com/conncat/conncat/sqlparse"
)

const (
	benchCreate = `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/MaterializeConn', REGION = 'us-east-1')`
	benchSelect = `SELECT principal, external_id FROM mz_aws_connections aws JOIN mz_connections c ON aws.id = c.id WHERE c.name = 'aws_conn'`
)

// BenchmarkParseCreateConnection: target < 5 µs and < 30 allocations.
func BenchmarkParseCreateConnection(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sqlparse.ParseOne(benchCreate); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSelectGated is the seed SELECT through sqlparse the first
// time: the TiDB parse, the gate's walk, and the canonical and SQLite
// texts written (the query cache off); BenchmarkParseSelectCached is the
// same text again, from the cache.
func BenchmarkParseSelectGated(b *testing.B) {
	sqlparse.WithoutQueryCache(func() {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sqlparse.ParseOne(benchSelect); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParseSelectCached(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sqlparse.ParseOne(benchSelect); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSelectTiDBOnly is the same SELECT with the TiDB parser
// alone, reusing one parser: the baseline the gate adds to.
func BenchmarkParseSelectTiDBOnly(b *testing.B) {
	p := tidb.New()
	p.SetSQLMode(mysql.ModeANSIQuotes | mysql.ModePipesAsConcat | mysql.ModeNoBackslashEscapes)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Parse(benchSelect, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}
