package catalog_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/storetest"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/sqlparse"
)

// The differential test: SELECTs generated from the gate's grammar must
// give byte-identical answers (columns, rows with their Go types, or
// SQLSTATE, message and position) on a SQLite file and on PostgreSQL,
// over catalogs with the same DDL history. Both run SELECT in SQLite (the
// file, the node's replica), so any difference is a replica that is not
// an exact copy: a column, a type, a value or a row that PostgreSQL's
// round trip changed.

// sameHistory is the DDL both catalogs run: every object kind, NULLs and
// values of every column type, renames, alters and drops.
var sameHistory = []string{
	`CREATE SECRET k AS 'fake-secret-difference'`,
	`CREATE SECRET k2 AS 'fake-secret-difference-2'`,
	`CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/A')`,
	`CREATE CONNECTION b TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/B', REGION = 'eu-west-1', ASSUME ROLE DURATION = '30m')`,
	`CREATE CONNECTION "Mixed Case" TO AWS (ACCESS KEY ID = 'AKIAFAKEDIFFERENCE01', SECRET ACCESS KEY = SECRET k, REGION = 'us-east-2')`,
	`CREATE CONNECTION s TO S3 (PREFIX = 's3://difference-bucket/some/prefix/') USING AWS CONNECTION a`,
	`CREATE CONNECTION s2 TO S3 (PREFIX = 's3://difference-bucket/') USING AWS CONNECTION b`,
	`ALTER CONNECTION b SET (ENDPOINT = 'https://sts.example.com'), SET (STS ENDPOINT = 'https://sts.example.com')`,
	`ALTER SECRET k2 RENAME TO k3`,
	`CREATE CONNECTION gone TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/Gone')`,
	`DROP CONNECTION gone`,
}

// sameStatuses are the status table's rows on both.
func sameStatuses() []catalog.ConnectionStatus {
	at := fixedClock()
	return []catalog.ConnectionStatus{
		{ID: "u3", Status: "fresh", LastStatusChangeAt: at, CredentialsExpireAt: at.Add(time.Hour), LastRefreshAt: at, STSCalls: 2},
		{ID: "u4", Status: "failed", LastStatusChangeAt: at, LastError: "AWS refused", STSCalls: 1},
	}
}

// twoCatalogs opens a SQLite file and a PostgreSQL catalog and runs
// sameHistory on each with the same external IDs.
func twoCatalogs(t testing.TB, staleReads bool) [2]*catalog.Executor {
	var cats [2]*catalog.Executor
	opts := catalog.Options{Principal: "arn:aws:iam::000000000000:role/conncat", Statuses: sameStatuses}
	for i, backend := range backends {
		restore := countedUUIDs()
		place := storetest.NewPlace(t, backend)
		place.Config.StaleReads = staleReads // a store with no replica ignores it
		cats[i] = openPlace(t, place, opts)
		for _, s := range sameHistory {
			stmt, err := sqlparse.ParseOne(s)
			if err == nil {
				_, err = cats[i].Exec(context.Background(), stmt)
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", backend, s, err)
			}
		}
		restore()
	}
	return cats
}

// countedUUIDs makes external IDs 1, 2, 3, ... as UUIDs until restore:
// two catalogs given the same DDL then hold the same rows.
func countedUUIDs() (restore func()) {
	n := uint64(0)
	return catalog.SetUUIDSource(func() (uuid.UUID, error) {
		n++
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[8:], n)
		id[6] = 0x70 // version 7, as the real source
		return id, nil
	})
}

// TestSameAnswerGenerated runs generated queries on both stores; most
// must answer with rows, or the comparison would prove little.
func TestSameAnswerGenerated(t *testing.T) {
	cats := twoCatalogs(t, false)
	r := rand.New(rand.NewPCG(29, 1))
	answered, n := 0, 400
	if testing.Short() {
		n = 50
	}
	for range n {
		input := make([]byte, 64)
		for i := range input {
			input[i] = byte(r.Uint32())
		}
		q, args := generateQuery(input)
		a := compareAnswers(t, cats, q, args)
		if !strings.HasPrefix(a, "error") {
			answered++
		}
	}
	if answered < n/2 {
		t.Fatalf("only %d of %d generated queries answered with rows", answered, n)
	}
	t.Logf("%d of %d generated queries answered with rows", answered, n)
}

// FuzzSameAnswer is TestSameAnswerGenerated with the fuzzer choosing the
// queries. The PostgreSQL catalog reads with StaleReads (its own DDL is
// all there is), so a query costs no round trip.
func FuzzSameAnswer(f *testing.F) {
	for _, seed := range []string{"", "\x01\x02\x03\x04", "\x05\x06\x07\x08\x09\x0a\x0b", "\xff\xfe\xfd\x10\x20\x30\x40\x50"} {
		f.Add([]byte(seed))
	}
	cats := twoCatalogs(f, true)
	f.Fuzz(func(t *testing.T, input []byte) {
		q, args := generateQuery(input)
		compareAnswers(t, cats, q, args)
	})
}

// compareAnswers runs q on both catalogs and fails the test if the
// answers differ; it returns the first.
func compareAnswers(t *testing.T, cats [2]*catalog.Executor, q string, args []any) string {
	t.Helper()
	var answers [2]string
	for i, c := range cats {
		ctx, cancel := context.WithTimeout(context.Background(), testenv.HangBound)
		answers[i] = answer(ctx, c, q, args...)
		cancel()
	}
	if answers[0] != answers[1] {
		t.Fatalf("%s %#v\n  %s: %s\n  %s: %s", q, args, backends[0], answers[0], backends[1], answers[1])
	}
	return answers[0]
}

// tableColumns are the columns the generator names, by table.
var tableColumns = map[string][]string{
	"mz_connections":             {"id", "name", "type", "owner", "create_sql", "redacted_create_sql", "created_at", "updated_at"},
	"mz_aws_connections":         {"id", "endpoint", "region", "access_key_id", "access_key_id_secret_id", "secret_access_key_secret_id", "session_token", "session_token_secret_id", "assume_role_arn", "assume_role_session_name", "principal", "external_id", "example_trust_policy", "sts_endpoint", "assume_role_duration"},
	"mz_s3_connections":          {"id", "aws_connection_id", "bucket", "prefix"},
	"mz_secrets":                 {"id", "name", "created_at", "updated_at"},
	"mz_object_dependencies":     {"object_id", "referenced_object_id"},
	"mz_connection_validations":  {"connection_id", "validated_at", `"check"`, "status", "message"},
	"mz_aws_connection_statuses": {"id", "status", "last_status_change_at", "credentials_expire_at", "last_refresh_at", "last_error", "sts_calls"},
}

// functionArity is how many arguments the generator gives each function
// (lowest and highest); TestGeneratorKnowsEveryFunction keeps it complete.
var functionArity = map[string][2]int{
	"lower": {1, 1}, "upper": {1, 1}, "length": {1, 1}, "char_length": {1, 1}, "substr": {2, 3},
	"substring": {2, 3}, "trim": {1, 1}, "ltrim": {1, 2}, "rtrim": {1, 2}, "replace": {3, 3},
	"instr": {2, 2}, "coalesce": {2, 3}, "ifnull": {2, 2}, "nullif": {2, 2}, "abs": {1, 1},
	"round": {1, 2}, "concat": {1, 3}, "concat_ws": {2, 4}, "json_extract": {2, 2},
	"json_valid": {1, 1}, "hex": {1, 1}, "typeof": {1, 1}, "datetime": {1, 2}, "date": {1, 2},
	"time": {1, 2}, "strftime": {2, 2}, "julianday": {1, 1}, "unixepoch": {1, 1}, "iif": {3, 3},
	"max": {2, 3}, "min": {2, 3},
}

// TestGeneratorKnowsEveryFunction: a function added to the gate's list
// is generated too.
func TestGeneratorKnowsEveryFunction(t *testing.T) {
	scalar, aggregate := sqlparse.QueryFunctions()
	for _, f := range scalar {
		if _, ok := functionArity[f]; !ok {
			t.Errorf("the generator does not call %s", f)
		}
	}
	for _, f := range aggregate {
		if !slices.Contains(aggregates, f) && !slices.Contains(windowOnly, f) {
			t.Errorf("the generator does not call %s", f)
		}
	}
}

var (
	aggregates = []string{"count", "sum", "avg", "min", "max"}
	windowOnly = []string{"row_number", "rank", "dense_rank"}
	literals   = []string{"0", "1", "-1", "7", "2147483647", "9223372036854775807", "0.1", "0.2", "0.3", "7.5", "1e3",
		"'1'", "'9'", "'10'", "'abc'", "'a''b'", "''", "'%'", "'_'", "NULL", "TRUE", "FALSE", "'u1'", "'aws'", "'$.Statement'",
		"'2026-11-22T12:00:00Z'", "'now'"}
	operators = []string{"+", "-", "*", "/", "%", "=", "!=", "<>", "<", "<=", ">", ">=", "AND", "OR", "||", "&", "|", "<<", ">>", "LIKE", "NOT LIKE"}
	paramVals = []any{"a", "1", "u3", "", int64(1), 7, -2, 0.5, nil, true, false, []byte("u1"), uint8(3), float32(2.5)}
)

// queryGen builds a query from bytes: each choice takes one byte (0 once
// they run out), so short inputs give short queries and the fuzzer's
// mutations move through the grammar.
type queryGen struct {
	in    []byte
	pos   int
	depth int
	args  []any
	// cols are the columns in scope, qualified.
	cols []string
}

func (g *queryGen) pick(n int) int {
	if g.pos >= len(g.in) {
		return 0
	}
	b := g.in[g.pos]
	g.pos++
	return int(b) % n
}

func (g *queryGen) one(list []string) string { return list[g.pick(len(list))] }

// generateQuery is the query of input and its parameter values.
func generateQuery(input []byte) (string, []any) {
	g := &queryGen{in: input}
	q := g.query(1 + g.pick(2))
	return q, g.args
}

func (g *queryGen) query(ncols int) string {
	var b strings.Builder
	if g.pick(5) == 0 {
		b.WriteString("WITH w AS (" + g.selectN(ncols) + ") ")
		saved := g.cols
		g.cols = nil
		b.WriteString(g.selectFrom(ncols, "w", []string{"w.c1", "w.c2"}[:ncols]))
		g.cols = saved
	} else {
		b.WriteString(g.selectN(ncols))
	}
	switch g.pick(8) {
	case 0:
		b.WriteString(" UNION " + g.selectN(ncols))
	case 1:
		b.WriteString(" UNION ALL " + g.selectN(ncols))
	case 2:
		b.WriteString(" INTERSECT " + g.selectN(ncols))
	case 3:
		b.WriteString(" EXCEPT " + g.selectN(ncols))
	}
	if g.pick(2) == 0 {
		b.WriteString(" ORDER BY 1")
		if g.pick(2) == 0 {
			b.WriteString(" DESC")
		}
		if ncols == 2 {
			b.WriteString(", 2")
		}
	}
	if g.pick(3) == 0 {
		fmt.Fprintf(&b, " LIMIT %d", g.pick(4))
		if g.pick(2) == 0 {
			fmt.Fprintf(&b, " OFFSET %d", g.pick(3))
		}
	}
	return b.String()
}

// selectN is a SELECT of ncols columns named c1, c2 from catalog tables.
func (g *queryGen) selectN(ncols int) string {
	tables := []string{"mz_connections", "mz_aws_connections", "mz_s3_connections", "mz_secrets", "mz_object_dependencies", "mz_connection_validations", "mz_aws_connection_statuses"}
	t1 := g.one(tables)
	from := t1 + " t1"
	cols := qualify("t1", tableColumns[t1])
	switch g.pick(6) {
	case 0:
		t2 := g.one(tables)
		from += " JOIN " + t2 + " t2 ON t1." + tableColumns[t1][0] + " = t2." + tableColumns[t2][0]
		cols = append(cols, qualify("t2", tableColumns[t2])...)
	case 1:
		t2 := g.one(tables)
		from += " LEFT JOIN " + t2 + " t2 ON t1." + tableColumns[t1][0] + " = t2." + g.one(tableColumns[t2])
		cols = append(cols, qualify("t2", tableColumns[t2])...)
	case 2:
		t2 := g.one(tables)
		from += ", " + t2 + " t2"
		cols = append(cols, qualify("t2", tableColumns[t2])...)
	}
	saved := g.cols
	defer func() { g.cols = saved }()
	return g.selectFrom(ncols, from, cols)
}

func qualify(alias string, cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + c
	}
	return out
}

// selectFrom is SELECT ncols expressions FROM from, with cols in scope.
func (g *queryGen) selectFrom(ncols int, from string, cols []string) string {
	g.cols = cols
	var b strings.Builder
	b.WriteString("SELECT ")
	if g.pick(6) == 0 {
		b.WriteString("DISTINCT ")
	}
	grouped := g.pick(4) == 0
	for i := range ncols {
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case grouped && i == 0:
			b.WriteString(g.one(cols))
		case grouped:
			b.WriteString(g.aggregate())
		case g.pick(8) == 0:
			b.WriteString(g.window())
		default:
			b.WriteString(g.expr())
		}
		fmt.Fprintf(&b, " AS c%d", i+1)
	}
	b.WriteString(" FROM " + from)
	if g.pick(2) == 0 {
		b.WriteString(" WHERE " + g.expr())
	}
	if grouped {
		b.WriteString(" GROUP BY 1")
		if g.pick(3) == 0 {
			b.WriteString(" HAVING " + g.aggregate() + " > " + g.one(literals))
		}
	}
	return b.String()
}

func (g *queryGen) aggregate() string {
	f := g.one(aggregates)
	if f == "count" && g.pick(2) == 0 {
		return "count(*)"
	}
	distinct := ""
	if g.pick(4) == 0 {
		distinct = "DISTINCT "
	}
	return f + "(" + distinct + g.expr() + ")"
}

func (g *queryGen) window() string {
	f := g.one(append(slices.Clone(windowOnly), "count", "sum", "max"))
	arg := ""
	if !slices.Contains(windowOnly, f) {
		arg = g.one(g.cols)
	}
	over := "ORDER BY " + g.one(g.cols)
	if g.pick(2) == 0 {
		over = "PARTITION BY " + g.one(g.cols) + " " + over
	}
	return f + "(" + arg + ") OVER (" + over + ")"
}

// expr is a scalar expression over the columns in scope.
func (g *queryGen) expr() string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 4 {
		return g.leaf()
	}
	switch g.pick(14) {
	case 0, 1:
		return g.leaf()
	case 2, 3:
		return g.call()
	case 4, 5:
		return "(" + g.expr() + " " + g.one(operators) + " " + g.expr() + ")"
	case 6:
		return g.one([]string{"-", "NOT ", "~"}) + "(" + g.expr() + ")"
	case 7:
		return "CASE WHEN " + g.expr() + " THEN " + g.expr() + " ELSE " + g.expr() + " END"
	case 8:
		return "CAST(" + g.expr() + " AS " + g.one([]string{"CHAR", "SIGNED", "UNSIGNED", "DOUBLE"}) + ")"
	case 9:
		return g.param()
	case 10:
		t := g.one([]string{"mz_connections", "mz_secrets", "mz_aws_connections"})
		return "(SELECT " + g.one(aggregates) + "(" + tableColumns[t][0] + ") FROM " + t + ")"
	case 11:
		return g.expr() + g.one([]string{" IS NULL", " IS NOT NULL", " IS TRUE", " IS FALSE"})
	case 12:
		return g.expr() + " IN (" + g.leaf() + ", " + g.leaf() + ")"
	}
	return g.expr() + " BETWEEN " + g.leaf() + " AND " + g.leaf()
}

func (g *queryGen) leaf() string {
	switch g.pick(3) {
	case 0:
		if len(g.cols) > 0 {
			return g.one(g.cols)
		}
	case 1:
		return g.param()
	}
	return g.one(literals)
}

func (g *queryGen) param() string {
	g.args = append(g.args, paramVals[g.pick(len(paramVals))])
	return fmt.Sprintf("$%d", len(g.args))
}

func (g *queryGen) call() string {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range functionArity {
			if !yield(k) {
				return
			}
		}
	})
	f := g.one(names)
	arity := functionArity[f]
	n := arity[0] + g.pick(arity[1]-arity[0]+1)
	args := make([]string, n)
	for i := range args {
		args[i] = g.expr()
	}
	return f + "(" + strings.Join(args, ", ") + ")"
}
