package main

import (
	"fmt"
	"strings"
)

// comparison is one line of the report: a conncat figure, the alternative
// measured in the same run, and the target for it.
type comparison struct {
	label, bench string
	// alt is the alternative's benchmark key and altLabel says what it is;
	// empty when there is none.
	alt, altLabel string
	// target judges the median (and the alternative's, when there is one);
	// nil when the issue sets none.
	target *target
}

type target struct {
	text string
	met  func(v, alt float64) bool
}

func under(ns float64, text string) *target {
	return &target{text: text, met: func(v, _ float64) bool { return v < ns }}
}

func withinRatio(r float64, text string) *target {
	return &target{text: text, met: func(v, alt float64) bool { return alt > 0 && v/alt <= r }}
}

func both(a, b *target) *target {
	return &target{text: a.text + " and " + b.text, met: func(v, alt float64) bool { return a.met(v, alt) && b.met(v, alt) }}
}

type section struct {
	title, command string
	rows           []comparison
}

func sections() []section {
	return []section{
		{title: "Parsing", command: "go test ./sqlparse -run '^$' -bench . -benchmem", rows: []comparison{
			{label: "parse a CREATE CONNECTION", bench: "sqlparse:ParseCreateConnection", target: under(5e3, "< 5 µs")},
			{label: "parse the seed SELECT through the gate, first time", bench: "sqlparse:ParseSelectGated",
				alt: "sqlparse:ParseSelectTiDBOnly", altLabel: "TiDB parser alone"},
			{label: "parse the seed SELECT again (the parsed-query cache)", bench: "sqlparse:ParseSelectCached",
				alt: "sqlparse:ParseSelectTiDBOnly", altLabel: "TiDB parser alone"},
		}},
		{title: "Catalog", command: "go test ./catalog -run '^$' -bench . -benchmem", rows: catalogRows()},
		{title: "Catalog on PostgreSQL (a throwaway PostgreSQL 15 cluster on loopback, fsync off)", command: "go test ./catalog/postgres -run '^$' -bench . -benchmem", rows: postgresRows()},
		{title: "Open", command: "go test . -run '^$' -bench Open -benchmem", rows: []comparison{
			{label: "conncat.Open + Close, 100000 conns", bench: "conncat:Open/conncat.Open/conns=100000",
				alt: "conncat:Open/sqlite-open+ping/conns=100000", altLabel: "SQLite file opened + ping",
				target: under(100e6, "< 100 ms")},
			{label: "(what loading every connection would cost)", bench: "conncat:Open/load-all-connections/conns=100000"},
		}},
		{title: "Wire server (examples/server, in process, SQLite catalog of 1000 connections; PostgreSQL 15 on loopback)", command: "go test ./examples/server -run '^$' -bench . -benchmem", rows: serverRows()},
		{title: "Observed hot path (a config's cached Retrieve)", command: "go test . -run '^$' -bench ObservedRetrieve -benchmem", rows: []comparison{
			{label: "with a JSON slog logger and an OTel SDK meter provider", bench: "conncat:ObservedRetrieve/observed",
				alt: "conncat:ObservedRetrieve/bare", altLabel: "no logger, no meter provider",
				target: withinRatio(1.1, "≤ 1.1× bare, 0 allocs")},
		}},
		{title: "Auth tokens (the name's kept config, cached credentials, signature; 0 STS calls and 0 catalog reads per token)", command: "go test . -run '^$' -bench AuthTokens -benchmem", rows: tokenRows()},
		{title: "Credentials cache", command: "go test ./awscreds -run '^$' -bench 'CachedRetrieve|RefreshStampede' -benchmem", rows: credentialRows()},
	}
}

// catalogRows compare the SQLite catalog with raw SQLite, at several sizes.
func catalogRows() []comparison {
	var rows []comparison
	for _, n := range []string{"1000", "10000", "100000"} {
		rows = append(rows, comparison{
			label: "CREATE CONNECTION committed, " + n + " conns", bench: "catalog:CreateConnection/conns=" + n,
			alt: "catalog:RawInsert/conns=" + n, altLabel: "raw INSERT + commit",
			target: withinRatio(3, "≤ 3× raw"),
		})
	}
	for _, n := range []string{"1000", "10000", "100000"} {
		c := comparison{
			label: "Resolve by name, " + n + " conns", bench: "catalog:ResolveByName/conns=" + n,
			alt: "catalog:RawSelect/conns=" + n, altLabel: "raw SELECT by unique name",
		}
		if n == "100000" {
			c.target = both(under(20e3, "< 20 µs"), withinRatio(3, "≤ 3× raw"))
		}
		rows = append(rows, c)
	}
	for _, n := range []string{"1000", "100000"} {
		rows = append(rows, comparison{
			label: "seed SELECT (parse, gate, run), " + n + " conns", bench: "catalog:SeedQuery/conns=" + n,
			alt: "catalog:SeedQueryRaw/conns=" + n, altLabel: "same SQL straight to SQLite",
			target: withinRatio(3, "≤ 3× straight SQLite"),
		})
	}
	return append(rows,
		comparison{label: "seed SELECT run by a role (views of its rows), 1000 conns", bench: "catalog:SeedQueryAsRole",
			alt: "catalog:SeedQuery/conns=1000", altLabel: "the same SELECT by a superuser"},
		comparison{label: "ten CREATE CONNECTIONs as one block (tried as they come, replayed at COMMIT), 1000 conns", bench: "catalog:BlockOfTen",
			alt: "catalog:TenStatements", altLabel: "the same ten, each its own transaction"})
}

// postgresRows compare the PostgreSQL catalog with raw pgx and with the
// SQLite catalog.
func postgresRows() []comparison {
	return []comparison{
		{label: "CREATE CONNECTION committed, 1000 conns", bench: "postgres:CreateConnection",
			alt: "postgres:RawInsert", altLabel: "raw INSERT + commit (pgx)", target: withinRatio(2, "≤ 2× raw")},
		{label: "Resolve by name, 1000 conns", bench: "postgres:ResolveByName",
			alt: "postgres:RawSelect", altLabel: "raw SELECT by unique name (pgx)", target: withinRatio(1.5, "≤ 1.5× raw")},
		{label: "seed SELECT (parse, gate, 1 round trip for freshness, replica), 1000 conns", bench: "postgres:SeedQuery",
			alt: "postgres:SeedQueryRaw", altLabel: "same SQL straight to PostgreSQL"},
		{label: "seed SELECT, the same", bench: "postgres:SeedQuery",
			alt: "catalog:SeedQuery/conns=1000", altLabel: "the same SELECT on a SQLite file", target: withinRatio(1.5, "≤ 1.5× the SQLite file")},
		{label: "seed SELECT WithStaleReads (no round trip), 1000 conns", bench: "postgres:SeedQueryStaleReads",
			alt: "catalog:SeedQuery/conns=1000", altLabel: "the same SELECT on a SQLite file"},
		{label: "ten CREATE CONNECTIONs as one block, 1000 conns", bench: "postgres:BlockOfTen",
			alt: "postgres:TenStatements", altLabel: "the same ten, each its own transaction"},
		{label: "a node's Open: replica loaded, 100000 conns", bench: "postgres:ReplicaLoad",
			alt: "postgres:ReplicaLoadReadOnly", altLabel: "the same rows read through pgx, kept nowhere", target: under(1e9, "< 1 s")},
	}
}

// serverRows compare the wire server with PostgreSQL itself.
func serverRows() []comparison {
	return []comparison{
		{label: "parameterised SELECT by id through pgx", bench: "server:SelectByID/conncat-server",
			alt: "server:SelectByID/postgresql", altLabel: "PostgreSQL itself, same client and query",
			target: withinRatio(1.5, "≤ 1.5× PostgreSQL")},
		{label: "connect (SCRAM-SHA-256) and close", bench: "server:Connect/conncat-server",
			alt: "server:Connect/postgresql-trust", altLabel: "PostgreSQL, trust (no authentication)"},
	}
}

// tokenRows compare conncat's tokens with the signers alone.
func tokenRows() []comparison {
	return []comparison{
		{label: "RDS IAM token, RDSAuthToken", bench: "conncat:AuthTokens/rds/conncat",
			alt: "conncat:AuthTokens/rds/sdk-BuildAuthToken-static", altLabel: "the SDK's BuildAuthToken, static credentials",
			target: withinRatio(1.25, "≤ 1.25× the SDK")},
		{label: "MSK IAM token, MSKAuthToken", bench: "conncat:AuthTokens/msk/conncat",
			alt: "conncat:AuthTokens/msk/signer-static", altLabel: "the MSK signer library, static credentials",
			target: withinRatio(1.25, "≤ 1.25× the signer")},
	}
}

// credentialRows compare the credentials cache with the SDK's.
func credentialRows() []comparison {
	var rows []comparison
	for _, g := range []string{"1", "16", "256"} {
		t := withinRatio(1.5, "≤ 1.5× SDK")
		if g == "256" {
			t = both(t, under(200, "< 200 ns"))
		}
		rows = append(rows, comparison{
			label: "cached Retrieve, goroutines=" + g, bench: "awscreds:CachedRetrieve/conncat/goroutines=" + g,
			alt: "awscreds:CachedRetrieve/aws.CredentialsCache/goroutines=" + g, altLabel: "aws.CredentialsCache",
			target: t,
		})
	}
	return rows
}

func render(s samples, env []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "_Generated by `make bench` (`internal/benchreport`) from `bench.out`: medians of %s; %s._\n",
		runsText(s), strings.Join(env, ", "))
	for _, sec := range sections() {
		fmt.Fprintf(&b, "\n### %s (`%s`)\n\n", sec.title, sec.command)
		b.WriteString("| benchmark | conncat | B/op | allocs/op | alternative, same run | ratio | target |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, c := range sec.rows {
			v, ok := s.median(c.bench, "ns/op")
			if !ok {
				fmt.Fprintf(&b, "| %s | not run | | | | | |\n", c.label)
				continue
			}
			bytes, _ := s.median(c.bench, "B/op")
			allocs, _ := s.median(c.bench, "allocs/op")
			altText, ratio, alt := "—", "—", 0.0
			if c.alt != "" {
				if a, ok := s.median(c.alt, "ns/op"); ok {
					alt = a
					altText = fmt.Sprintf("%s: %s", c.altLabel, duration(a))
					ratio = fmt.Sprintf("%.2f×", v/a)
				}
			}
			verdict := "—"
			if c.target != nil {
				verdict = c.target.text + ": **met**"
				if !c.target.met(v, alt) {
					verdict = c.target.text + ": **missed**"
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", c.label, duration(v), integer(bytes), integer(allocs), altText, ratio, verdict)
		}
	}
	b.WriteString(stampede(s))
	b.WriteString(validation(s))
	b.WriteString(invalidation(s))
	b.WriteString(replica(s))
	return b.String()
}

// replica is the table of the PostgreSQL node's replica figures that are
// not times per operation.
func replica(s samples) string {
	var b strings.Builder
	b.WriteString("\n### A PostgreSQL node's replica (`go test ./catalog/postgres -bench 'SeedQuery|ReplicaLoad|FeedVisibility'`)\n\n")
	b.WriteString("| figure | measured | target |\n| --- | --- | --- |\n")
	row := func(label, key, unit string, format func(float64) string, target string, met func(float64) bool) {
		v, ok := s.median(key, unit)
		if !ok {
			fmt.Fprintf(&b, "| %s | not run | |\n", label)
			return
		}
		verdict := "—"
		if target != "" {
			verdict = target + ": **met**"
			if !met(v) {
				verdict = target + ": **missed**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", label, format(v), verdict)
	}
	trips := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	row("round trips per seed SELECT", "postgres:SeedQuery", "roundtrips/op", trips, "≤ 1", func(v float64) bool { return v <= 1.01 })
	row("round trips per seed SELECT, WithStaleReads", "postgres:SeedQueryStaleReads", "roundtrips/op", trips, "", nil)
	row("replica size per 1,000 connections (files; the OS caches them)", "postgres:ReplicaLoad", "replica-B/1000conns",
		func(v float64) string { return fmt.Sprintf("%.2f MB", v/1e6) }, "", nil)
	ms := func(v float64) string { return fmt.Sprintf("%.1f ms", v) }
	row("DDL commit on one node to its visibility in another's SELECT, WithStaleReads (the feed), p50", "postgres:FeedVisibility", "p50-ms", ms, "", nil)
	row("the same, p99", "postgres:FeedVisibility", "p99-ms", ms, "< 50 ms", func(v float64) bool { return v < 50 })
	b.WriteString("\nWithout `WithStaleReads` a SELECT sees another node's DDL at once, by contract (`TestSelectSeesEveryCommittedDDL`).\n")
	return b.String()
}

// invalidation is the table of BenchmarkInvalidation: how soon a change
// reaches a config already handed out, mean and 99th percentile, with the
// issue's p99 bound.
func invalidation(s samples) string {
	var b strings.Builder
	b.WriteString("\n### A change reaching a config already handed out (`BenchmarkInvalidation`)\n\n")
	b.WriteString("| where the ALTER ran | mean | p99 | target |\n| --- | --- | --- | --- |\n")
	for _, row := range []struct{ key, label string }{
		{"in-process", "the same handle (in process)"},
		{"other-handle-sqlite", "another handle of the SQLite file (another process)"},
		{"other-node-postgres", "another node of the PostgreSQL catalog"},
	} {
		key := "conncat:Invalidation/" + row.key
		mean, ok := s.median(key, "ns/op")
		if !ok {
			fmt.Fprintf(&b, "| %s | not run | | |\n", row.label)
			continue
		}
		p99, _ := s.median(key, "p99-ns")
		verdict := "p99 < 200 ms: **met**"
		if p99 >= 200e6 {
			verdict = "p99 < 200 ms: **missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.label, duration(mean), duration(p99), verdict)
	}
	return b.String()
}

func stampede(s samples) string {
	var b strings.Builder
	b.WriteString("\n### STS calls per refresh window, 10,000 callers at once (`BenchmarkRefreshStampede`)\n\n")
	b.WriteString("| cache | STS calls per stampede | time per stampede | target |\n| --- | --- | --- | --- |\n")
	for _, impl := range []string{"conncat", "aws.CredentialsCache"} {
		key := "awscreds:RefreshStampede/" + impl + "/callers=10000"
		calls, ok := s.median(key, "sts-calls/op")
		if !ok {
			fmt.Fprintf(&b, "| %s | not run | | |\n", impl)
			continue
		}
		ns, _ := s.median(key, "ns/op")
		verdict := "exactly 1: **met**"
		if calls != 1 {
			verdict = "exactly 1: **missed**"
		}
		fmt.Fprintf(&b, "| %s | %.2f | %s | %s |\n", impl, calls, duration(ns), verdict)
	}
	return b.String()
}

func validation(s samples) string {
	var b strings.Builder
	b.WriteString("\n### VALIDATE CONNECTION with 20 ms per request (`BenchmarkValidateLatency`)\n\n")
	b.WriteString("| run | measured | longest dependent chain | all calls in sequence | over the chain |\n| --- | --- | --- | --- | --- |\n")
	for _, run := range []struct{ key, label string }{
		{"validate:ValidateLatency/role-chain/awstest", "two-hop role chain, awstest"},
		{"validate:ValidateLatency/static-keys+s3/minio", "static keys + every S3 check, MinIO behind a delaying proxy"},
	} {
		rtt, ok := s.median(run.key, "rtt/op")
		if !ok {
			fmt.Fprintf(&b, "| %s | not run | | | |\n", run.label)
			continue
		}
		chain, _ := s.median(run.key, "chain-rtt")
		seq, _ := s.median(run.key, "sequential-rtt")
		fmt.Fprintf(&b, "| %s | %.2f round trips | %.0f | %.0f | %+.0f%% |\n", run.label, rtt, chain, seq, (rtt/chain-1)*100)
	}
	return b.String()
}

func runsText(s samples) string {
	lo, hi := 0, 0
	for key := range s {
		n := s.runs(key)
		if n == 0 {
			continue
		}
		if lo == 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	if lo == hi {
		return fmt.Sprintf("%d runs each", lo)
	}
	return fmt.Sprintf("%d to %d runs each", lo, hi)
}
