package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat"
)

// TestSelectParameters: values go in $n, never into the text; each binds
// where its number says; every misuse is a coded error before anything runs.
func TestSelectParameters(t *testing.T) {
	ctx := context.Background()
	cat := openTest(t, conncat.WithPrincipal(engineUser))
	mustExec(t, cat, `CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A');
		CREATE CONNECTION "it's" TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/B')`)
	names := func(script string, args ...any) []any {
		t.Helper()
		res, err := cat.Exec(ctx, script, args...)
		if err != nil {
			t.Fatalf("%s %v: %v", script, args, err)
		}
		var out []any
		for _, r := range res[0].Rows {
			out = append(out, r[0])
		}
		return out
	}
	const byName = `SELECT name FROM mz_connections WHERE name = $1`
	for _, tc := range []struct {
		args []any
		want []any
	}{
		{[]any{"a"}, []any{"a"}},
		{[]any{"it's"}, []any{"it's"}},
		{[]any{"' OR 1=1 --"}, nil},
		{[]any{nil}, nil},
	} {
		if got := names(byName, tc.args...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.args, got, tc.want)
		}
	}
	// Numbers bind by number, not by order of appearance.
	got := names(`SELECT name FROM mz_connections WHERE name = $2 OR name = $2 || $1 ORDER BY name LIMIT $3`, "", "a", 5)
	if !reflect.DeepEqual(got, []any{"a"}) {
		t.Errorf("out of order: got %v", got)
	}
	// Parsed once, run with different values.
	stmts, err := conncat.Parse(byName)
	if err != nil || conncat.Params(stmts[0]) != 1 {
		t.Fatalf("Parse: %v, params %d", err, conncat.Params(stmts[0]))
	}
	for _, name := range []string{"a", "it's"} {
		res, err := cat.ExecStatement(ctx, stmts[0], name)
		if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != name {
			t.Errorf("ExecStatement(%q) = %v, %v", name, res, err)
		}
	}

	for _, tc := range []struct {
		script string
		args   []any
		code   string
	}{
		{byName, nil, conncat.CodeSyntaxError},
		{byName, []any{"a", "b"}, conncat.CodeSyntaxError},
		{`SELECT name FROM mz_connections WHERE name = $2`, []any{"a"}, conncat.CodeSyntaxError},
		{`DROP CONNECTION a`, []any{"a"}, conncat.CodeSyntaxError},
		{`SHOW CONNECTIONS`, []any{"a"}, conncat.CodeSyntaxError},
		{`VALIDATE CONNECTION a`, []any{"a"}, conncat.CodeSyntaxError},
		{byName + `; ` + byName, []any{"a"}, conncat.CodeSyntaxError},
		{byName, []any{struct{}{}}, conncat.CodeInvalidParameterValue},
		{byName, []any{uint64(1 << 63)}, conncat.CodeInvalidParameterValue},
		{byName, []any{time.Now()}, conncat.CodeInvalidParameterValue},
		{byName, []any{strings.Repeat("x", 64<<10+1)}, conncat.CodeProgramLimitExceeded},
		{byName, []any{make([]byte, 64<<10+1)}, conncat.CodeProgramLimitExceeded},
		{`SELECT name FROM mz_connections WHERE name = ?`, []any{"a"}, conncat.CodeFeatureNotSupported},
		{`SELECT $0`, nil, conncat.CodeUndefinedParameter},
	} {
		_, err := cat.Exec(ctx, tc.script, tc.args...)
		var e *conncat.Error
		if !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("%s %v: err = %v, want %s", tc.script, tc.args, err, tc.code)
		}
	}
	// Nothing was dropped by the refused DROP.
	if got := names(`SELECT count(*) FROM mz_connections`); got[0] != int64(2) {
		t.Errorf("connections after refused statements: %v", got)
	}
}

// TestParameterValuesStayOutOfErrors: a parameter's value never appears in
// the error a query fails with, nor in the log event of the failure, on
// either store (the database's own message may quote it); and parameters
// keep the rules literals keep (NUL and invalid UTF-8 are 22021).
func TestParameterValuesStayOutOfErrors(t *testing.T) {
	forEachBackend(t, testParameterValuesStayOutOfErrors)
}

func testParameterValuesStayOutOfErrors(t *testing.T, backend string) {
	const value = "fake-secret-looking-value-7731"
	var logs syncBuffer
	cat, _ := openOn(t, backend, conncat.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	mustExec(t, cat, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')`)
	ctx := context.Background()
	for _, sql := range []string{
		`SELECT name FROM mz_aws_connections a JOIN mz_connections c ON c.id = a.id WHERE assume_role_duration = CAST($1 AS SIGNED)`,
		`SELECT json_extract('{}', $1)`,
		`SELECT json_extract($1, '$.a')`,
		`SELECT name FROM mz_connections WHERE id = $1 AND json_extract(example_trust_policy, $1) IS NULL`,
	} {
		_, err := cat.Exec(ctx, sql, value)
		if err != nil && strings.Contains(err.Error(), value) {
			t.Errorf("%s: the error quotes the parameter's value: %v", sql, err)
		}
		var e *conncat.Error
		if errors.As(err, &e) && (strings.Contains(e.Detail, value) || strings.Contains(e.Hint, value) || strings.Contains(fmt.Sprintf("%+v %#v", e, e), value)) {
			t.Errorf("%s: a field of the error holds the parameter's value: %#v", sql, e)
		}
	}
	if strings.Contains(logs.String(), value) {
		t.Errorf("the log holds the parameter's value:\n%s", logs.String())
	}
	for _, tc := range []struct{ value, text string }{{"a\x00b", "NUL"}, {"a\xffb", "UTF-8"}} {
		_, err := cat.Exec(ctx, `SELECT strftime($1)`, tc.value)
		wantCode(t, "parameter "+tc.text, err, conncat.CodeCharacterNotInRepert, "parameter $1")
	}
}
