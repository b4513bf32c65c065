package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

const fakeSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// buildREPL builds the binary, as a user would run it, once for every
// test of the package.
func buildREPL(t *testing.T) string {
	t.Helper()
	return testenv.Build(t, ".")
}

// TestScriptModeJSON drives the built binary with SQL on stdin and checks
// every JSON line, the exit code, and that no secret is ever echoed.
func TestScriptModeJSON(t *testing.T) {
	bin := buildREPL(t)
	dir := t.TempDir()
	script := strings.Join([]string{
		"CREATE SECRET sk AS '" + fakeSecretKey + "'",
		"CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/MaterializeConn')",
		"CREATE SECRE typo AS '" + fakeSecretKey + "'", // does not parse: reported, script goes on
		"CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = '" + fakeSecretKey + "')",
		"SELECT principal, external_id FROM mz_aws_connections aws JOIN mz_connections c ON aws.id = c.id WHERE c.name = 'aws_conn'",
		"CREATE SECRET sk AS 'again'",
		"CREATE SECRET IF NOT EXISTS sk AS 'again'",
	}, ";\n") + ";\n"
	cmd := exec.Command(bin, "-db", filepath.Join(dir, "c.db"), "-format", "json", "-principal", "arn:aws:iam::000000000000:role/conncat")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit code %d (%v), want 1 because statements failed\n%s", code, err, out)
	}
	if strings.Contains(string(out), fakeSecretKey) {
		t.Fatalf("output holds the secret:\n%s", out)
	}
	var lines []jsonLine
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var l jsonLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 7 {
		t.Fatalf("got %d lines, want one per statement:\n%s", len(lines), out)
	}
	if lines[0].Statement != "CREATE SECRET sk AS '<redacted>'" || *lines[0].Tag != "CREATE SECRET" || lines[0].Error != nil {
		t.Errorf("line 1: %+v", lines[0])
	}
	if e := lines[2].Error; e == nil || e.Code != "42601" || e.Position == nil || *e.Position != 8 || lines[2].Statement != "CREATE SECRE typo AS '<redacted>'" {
		t.Errorf("line 3 (parse error): %+v %+v", lines[2], e)
	}
	if lines[3].Error != nil || !strings.Contains(lines[3].Statement, "SESSION TOKEN = '<redacted>'") {
		t.Errorf("line 4: %+v", lines[3])
	}
	q := lines[4]
	if q.Error != nil || *q.Tag != "SELECT 1" || len(q.Rows) != 1 || q.Rows[0][0] != "arn:aws:iam::000000000000:role/conncat" {
		t.Errorf("line 5 (seed query): %+v", q)
	}
	if e := lines[5].Error; e == nil || e.Code != "42710" {
		t.Errorf("line 6 (duplicate): %+v", lines[5])
	}
	if lines[6].Error != nil || len(lines[6].Notices) != 1 {
		t.Errorf("line 7 (IF NOT EXISTS): %+v", lines[6])
	}
	// The database file and its WAL never hold the secret in plain text.
	for _, name := range []string{"c.db", "c.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && strings.Contains(string(b), fakeSecretKey) {
			t.Errorf("%s holds the secret in plain text", name)
		}
	}
}

func TestExitCodes(t *testing.T) {
	bin := buildREPL(t)
	db := filepath.Join(t.TempDir(), "c.db")
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"all succeed", []string{"-c", "SHOW CONNECTIONS", "-c", "SHOW SECRETS"}, 0},
		{"one fails", []string{"-c", "SHOW CONNECTIONS; DROP SECRET nope"}, 1},
		{"bad format flag", []string{"-format", "xml", "-c", "SHOW SECRETS"}, 2},
		{"bad on-error flag", []string{"-on-error", "maybe", "-c", "SHOW SECRETS"}, 2},
		{"unknown flag", []string{"-frobnicate"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"-db", db}, tc.args...)...)
			out, _ := cmd.CombinedOutput()
			if got := cmd.ProcessState.ExitCode(); got != tc.want {
				t.Fatalf("exit %d, want %d\n%s", got, tc.want, out)
			}
		})
	}
}

// TestOnErrorStop: with -on-error stop, nothing after the failure runs.
func TestOnErrorStop(t *testing.T) {
	bin := buildREPL(t)
	db := filepath.Join(t.TempDir(), "c.db")
	cmd := exec.Command(bin, "-db", db, "-on-error", "stop", "-format", "json", "-c", "DROP SECRET nope; CREATE SECRET s AS 'x'")
	out, _ := cmd.Output()
	if n := strings.Count(string(out), "\n"); n != 1 {
		t.Fatalf("want only the failed statement reported, got %d lines:\n%s", n, out)
	}
	out, _ = exec.Command(bin, "-db", db, "-c", "SHOW SECRETS").Output()
	if !strings.Contains(string(out), "(0 rows)") {
		t.Fatalf("the statement after the failure ran:\n%s", out)
	}
}

// runJSON runs the binary on a script and decodes its JSON lines.
func runJSON(t *testing.T, bin, dir, script string, args ...string) ([]jsonLine, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-format", "json"}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	var lines []jsonLine
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var l jsonLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %q: %v\nstderr: %s", sc.Text(), err, stderr.String())
		}
		lines = append(lines, l)
	}
	return lines, cmd.ProcessState.ExitCode()
}

// statuses renders a VALIDATE line's rows as "check STATUS" pairs.
func statuses(l jsonLine) string {
	var parts []string
	for _, r := range l.Rows {
		parts = append(parts, r[0].(string)+" "+r[1].(string))
	}
	return strings.Join(parts, ", ")
}

// TestSandboxSession is the newcomer's walk: the sandbox's customer role
// starts out trusting the principal without an external ID, VALIDATE
// catches it, \sandbox trust pastes conncat's policy, and every check
// passes; \sandbox untrust brings the failure back.
func TestSandboxSession(t *testing.T) {
	bin := buildREPL(t)
	dir := t.TempDir()
	script := `CREATE CONNECTION demo TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::444455556666:role/conncat-sandbox-customer');
VALIDATE CONNECTION demo;
\sandbox trust demo
VALIDATE CONNECTION demo;
\sandbox untrust demo
VALIDATE CONNECTION demo;
-- a role the sandbox has never heard of is created by \sandbox trust
CREATE CONNECTION other TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::777788889999:role/brand-new');
VALIDATE CONNECTION other;
\sandbox trust other
VALIDATE CONNECTION other;
`
	lines, code := runJSON(t, bin, dir, script, "-sandbox")
	if code != 1 || len(lines) != 10 {
		t.Fatalf("exit %d, %d lines: %+v", code, len(lines), lines)
	}
	if lines[0].Error != nil {
		t.Fatalf("create: %+v", lines[0].Error)
	}
	if got := statuses(lines[1]); got != "credentials PASS, external_id_required FAIL" || lines[1].Error == nil || lines[1].Error.Code != "XX000" {
		t.Errorf("before trust: %s %+v", got, lines[1].Error)
	}
	if lines[2].Statement != `\sandbox trust demo` || lines[2].Error != nil || *lines[2].Tag != "SANDBOX TRUST" {
		t.Errorf("trust: %+v", lines[2])
	}
	if got := statuses(lines[3]); got != "credentials PASS, external_id_required PASS" || lines[3].Error != nil {
		t.Errorf("after trust: %s %+v", got, lines[3].Error)
	}
	if got := statuses(lines[5]); got != "credentials PASS, external_id_required FAIL" {
		t.Errorf("after untrust: %s", got)
	}
	if got := statuses(lines[7]); !strings.HasPrefix(got, "credentials FAIL") {
		t.Errorf("unknown role: %s", got)
	}
	if got := statuses(lines[9]); got != "credentials PASS, external_id_required PASS" {
		t.Errorf("created role after trust: %s", got)
	}
	// S3 checks in the sandbox (which has no S3) say so, and how to check
	// S3 for real, instead of asking to grant a permission.
	s3lines, _ := runJSON(t, bin, dir, "CREATE CONNECTION demo TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::444455556666:role/conncat-sandbox-customer');\n"+
		"\\sandbox trust demo\nCREATE CONNECTION s3d TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION demo;\nVALIDATE CONNECTION s3d;\n", "-sandbox")
	v := s3lines[len(s3lines)-1]
	for _, row := range v.Rows {
		if row[1] == "FAIL" && !strings.Contains(fmt.Sprint(row[3]), "The sandbox plays STS only, not S3") {
			t.Errorf("S3 check in the sandbox: %v", row)
		}
	}
	if v.Error == nil || v.Error.Hint == nil || !strings.Contains(*v.Error.Hint, "MinIO") {
		t.Errorf("the sandbox's VALIDATE error: %+v", v.Error)
	}

	// Without -db the sandbox's catalog is temporary.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the sandbox left files in the working directory: %v", entries)
	}
}

// TestMetaCommandsInScripts: backslash commands work in scripts, and
// outside the sandbox \sandbox is a clear error, not a crash.
func TestMetaCommandsInScripts(t *testing.T) {
	bin := buildREPL(t)
	dir := t.TempDir()
	lines, code := runJSON(t, bin, dir, "CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R');\n\\d\n\\sandbox trust c\n\\frob\n", "-db", filepath.Join(dir, "c.db"))
	if code != 1 || len(lines) != 4 {
		t.Fatalf("exit %d, lines %+v", code, lines)
	}
	if lines[1].Statement != "SHOW CONNECTIONS" || len(lines[1].Rows) != 1 || lines[1].Rows[0][0] != "c" {
		t.Errorf(`\d: %+v`, lines[1])
	}
	if e := lines[2].Error; e == nil || e.Code != "55000" || e.Hint == nil {
		t.Errorf(`\sandbox without -sandbox: %+v`, e)
	}
	if e := lines[3].Error; e == nil || e.Code != "42601" || !strings.Contains(e.Message, `\frob`) {
		t.Errorf(`\frob: %+v`, e)
	}
	// A flag clash is a usage error.
	cmd := exec.Command(bin, "-sandbox", "-principal", "arn:aws:iam::000000000000:role/x", "-c", "SHOW SECRETS")
	cmd.Dir = dir
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("-sandbox with -principal: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
}

// TestNoSecretOnAnySurface runs statements that fail in every way a secret
// can be typed, in every output format, and checks that the secret (a
// marker) reaches neither stdout nor stderr.
func TestNoSecretOnAnySurface(t *testing.T) {
	const marker = "MarkedSecret4b1f"
	bin := buildREPL(t)
	dir := t.TempDir()
	script := strings.Join([]string{
		"SELECT 1\nCREATE SECRET s AS '" + marker + "'",
		"SHOW SECRETS CREATE SECRET s AS '" + marker + "'",
		"DROP SECRET a CREATE SECRET s AS '" + marker + "'",
		"VALIDATE CONNECTION c CREATE SECRET s AS '" + marker + "'",
		"CREATE SECRET s AS '" + marker + "\xff'",
		"CREATE SECRET s AS '" + marker + "\x00'",
		"CREATE SECRET s AS '" + marker + strings.Repeat("x", 70000) + "'",
		`CREATE SECRET s AS "` + marker + `"`,
		"CREATE SECRET s AS " + marker,
		"CREATE SECRET s AS " + marker + "/k+y",
		"CREATE CONNECTION c TO AWS (SESSION TOKEN = " + marker + ")",
		"CREATE SECRET s AS '" + marker, // unterminated: swallows the rest
	}, ";\n") + ";\n"
	for _, format := range []string{"table", "csv", "json"} {
		t.Run(format, func(t *testing.T) {
			cmd := exec.Command(bin, "-db", filepath.Join(dir, format+".db"), "-format", format)
			cmd.Stdin = strings.NewReader(script)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("exit %d, want 1 (statements failed)\n%s%s", code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), "42601") {
				t.Fatalf("no syntax error reported:\n%s%s", stdout.String(), stderr.String())
			}
			for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if strings.Contains(out, marker) {
					t.Errorf("%s shows the secret:\n%s", name, out)
				}
			}
		})
	}
}

// TestNoTerminalControlInOutput: a name cannot hold a control character
// (42602), and a value that holds one (an ESC sequence, a carriage return,
// a direction override) is printed escaped in table and CSV output, so no
// statement can paint or fake lines in someone's terminal.
func TestNoTerminalControlInOutput(t *testing.T) {
	bin := buildREPL(t)
	dir := t.TempDir()
	script := "CREATE SECRET \"ok\x1b[2J\" AS 'x';\n" +
		"CREATE SECRET \"fake\nERROR\" AS 'x';\n" +
		"SELECT 1 AS \"v\x1b[1m\";\n" +
		"SELECT 'a\x1b[31mred\rb\u202ec' AS v;\n"
	for _, format := range []string{"table", "csv"} {
		t.Run(format, func(t *testing.T) {
			cmd := exec.Command(bin, "-db", filepath.Join(dir, format+".db"), "-format", format)
			cmd.Stdin = strings.NewReader(script)
			out, _ := cmd.CombinedOutput()
			if strings.Count(string(out), "42602") != 3 {
				t.Errorf("want both names and the alias refused with 42602:\n%s", out)
			}
			if strings.ContainsAny(string(out), "\x1b\r\u202e") {
				t.Errorf("output holds a raw control character: %q", out)
			}
			if !strings.Contains(string(out), `a\x1b[31mred\x0db\u202ec`) {
				t.Errorf("the value is not shown escaped: %q", out)
			}
		})
	}
}

// TestDescribeAndExpanded: \d NAME shows everything about a connection a
// line per column (its CREATE statement, trust policy, S3 bucket and
// prefix); \d of an unknown name is one error about the command; \x
// switches expanded display on, off and to auto.
func TestDescribeAndExpanded(t *testing.T) {
	bin := buildREPL(t)
	dir := t.TempDir()
	script := "CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R');\n" +
		"CREATE CONNECTION s3c TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION a;\n" +
		"\\d a\n\\d s3c\n\\d nosuch\n\\x\nSELECT name FROM mz_connections WHERE name = 'a';\n\\x off\nSELECT name FROM mz_connections WHERE name = 'a';\n"
	cmd := exec.Command(bin, "-db", filepath.Join(dir, "d.db"), "-principal", "arn:aws:iam::000000000000:role/conncat")
	cmd.Stdin = strings.NewReader(script)
	out, _ := cmd.CombinedOutput()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`trust_policy +\| \{\n +\|   "Version": "2012-10-17"`),        // \d a: the policy to paste
		regexp.MustCompile(`bucket +\| bucket\nprefix +\| p/\npermission_policy +\| \{`), // \d s3c
	} {
		if !want.MatchString(string(out)) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	for _, want := range []string{
		"ERROR 42704: connection \"nosuch\" does not exist\nHINT: \\d lists the connections.\n",
		"Expanded display is on.\n-[ RECORD 1 ]+--------\nname | a\n",
		"Expanded display is off.\nname\n----\na\n(1 row)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "SHOW CREATE CONNECTION") || strings.Contains(string(out), "(0 rows)") {
		t.Errorf("\\d of an unknown name shows its internal query or an empty table:\n%s", out)
	}
}

// TestCredsInTheSandbox: \creds fetches credentials as the data plane does
// and the status table shows them; a role that does not exist fails with
// VALIDATE's explanation, and the table says failed.
func TestCredsInTheSandbox(t *testing.T) {
	bin := buildREPL(t)
	dir := t.TempDir()
	lines, code := runJSON(t, bin, dir, "CREATE CONNECTION demo TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::444455556666:role/conncat-sandbox-customer');\n"+
		"CREATE CONNECTION ghost TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::444455556666:role/missing');\n"+
		"\\creds demo\n\\creds ghost\n\\creds\n"+
		"SELECT c.name, s.status, s.sts_calls FROM mz_connections c JOIN mz_internal.mz_aws_connection_statuses s ON s.id = c.id ORDER BY c.name;\n", "-sandbox")
	if code != 1 || len(lines) != 6 {
		t.Fatalf("exit %d, lines %+v", code, lines)
	}
	if l := lines[2]; l.Error != nil || l.Tag == nil || *l.Tag != "CREDENTIALS" || len(l.Rows) != 1 || l.Rows[0][0] != "demo" {
		t.Errorf(`\creds demo: %+v`, l)
	}
	if e := lines[3].Error; e == nil || !strings.Contains(e.Message, "AWS refused to let arn:aws:iam::111122223333:role/conncat-principal assume arn:aws:iam::444455556666:role/missing") || e.Hint == nil {
		t.Errorf(`\creds ghost: %+v`, e)
	}
	if e := lines[4].Error; e == nil || e.Code != "42601" {
		t.Errorf(`\creds without a name: %+v`, e)
	}
	if got := fmt.Sprint(lines[5].Rows); got != "[[demo fresh 2] [ghost failed 2]]" {
		t.Errorf("status table: %s", got)
	}
}

// TestMetaCommandsAsPsqlReadsThem: a statement ends at its ';' even with a
// comment after it; a backslash command takes a trailing comment, runs at
// once even in the middle of a statement (which goes on after it), and \r
// clears that statement; a line of a multi-line string that starts with a
// backslash is the string's, never a command.
func TestMetaCommandsAsPsqlReadsThem(t *testing.T) {
	bin := buildREPL(t)
	dir := t.TempDir()
	script := "CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R');   -- made\n" +
		"SHOW\n\\d -- all of them\nCONNECTIONS;\n" +
		"SHOW SECRETS\n\\r\n" +
		"CREATE SECRET s AS 'fake-multi-line\n\\not-a-command';\n" +
		"\\d c   -- described\n"
	lines, code := runJSON(t, bin, dir, script, "-db", filepath.Join(dir, "c.db"))
	var got []string
	for _, l := range lines {
		got = append(got, l.Statement)
		if l.Error != nil {
			t.Errorf("%s: %+v", l.Statement, l.Error)
		}
	}
	want := []string{"CREATE CONNECTION", "SHOW CONNECTIONS", "SHOW\nCONNECTIONS", "CREATE SECRET", `\d c`}
	if code != 0 || len(got) != len(want) {
		t.Fatalf("exit %d, statements %q, want %d like %q", code, got, len(want), want)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("statement %d is %q, want %q...", i, got[i], w)
		}
	}
}

// TestTransactionBlocks: BEGIN ... COMMIT in a script, a block that failed
// rolls back at COMMIT, input that ends inside a block is rolled back
// (exit 1), and -1 runs a file as one transaction.
func TestTransactionBlocks(t *testing.T) {
	bin := buildREPL(t)
	db := filepath.Join(t.TempDir(), "c.db")
	run := func(stdin string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-db", db, "-format", "csv"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := run("BEGIN;\nCREATE SECRET a AS 'fake-a';\nCREATE SECRET a AS 'fake-again';\nSHOW SECRETS;\nCOMMIT;\n")
	if code != 1 || !strings.Contains(out, "25P02") || !strings.Contains(out, "ROLLBACK") {
		t.Fatalf("a failed block (exit %d):\n%s", code, out)
	}
	if out, code = run("BEGIN;\nCREATE SECRET b AS 'fake-b';\n"); code != 1 || !strings.Contains(out, "rolled back") {
		t.Fatalf("input ending inside a block (exit %d):\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "migration.sql")
	os.WriteFile(file, []byte("CREATE SECRET c AS 'fake-c';\nCREATE SECRET c AS 'fake-again';\n"), 0o600)
	if out, code = run("", "-1", "-f", file); code != 1 {
		t.Fatalf("-1 with a failing file (exit %d):\n%s", code, out)
	}
	if out, code = run("BEGIN;\nCREATE SECRET d AS 'fake-d';\nCOMMIT;\nSHOW SECRETS;\n"); code != 0 {
		t.Fatalf("a committed block (exit %d):\n%s", code, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "name\nd") {
		t.Fatalf("only d should have landed:\n%s", out)
	}
}

func TestPromptShowsTheBlock(t *testing.T) {
	for _, c := range []struct {
		continuing bool
		status     byte
		want       string
	}{{false, 'I', "conncat=> "}, {true, 'I', "conncat-> "}, {false, 'T', "conncat=*> "}, {true, 'E', "conncat-!> "}} {
		if got := promptFor(c.continuing, c.status); got != c.want {
			t.Errorf("promptFor(%v, %c) = %q, want %q", c.continuing, c.status, got, c.want)
		}
	}
}

// TestRoles: -role runs statements as a role; another role is refused its
// connection (42501) until granted, and -superusers passes everywhere.
func TestRoles(t *testing.T) {
	bin := buildREPL(t)
	db := filepath.Join(t.TempDir(), "c.db")
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-db", db, "-format", "csv", "-superusers", "admin"}, args...)...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := run("-role", "alice", "-c", "CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/A')"); code != 0 {
		t.Fatalf("alice creates (exit %d):\n%s", code, out)
	}
	if out, code := run("-role", "bob", "-c", "SHOW CREATE CONNECTION a"); code != 1 || !strings.Contains(out, "42501") {
		t.Fatalf("bob reads alice's connection (exit %d):\n%s", code, out)
	}
	run("-role", "alice", "-c", "GRANT USAGE ON CONNECTION a TO bob")
	if out, code := run("-role", "bob", "-c", "SHOW CREATE CONNECTION a"); code != 0 {
		t.Fatalf("bob after GRANT (exit %d):\n%s", code, out)
	}
	if out, code := run("-role", "admin", "-c", "DROP CONNECTION a"); code != 0 {
		t.Fatalf("a superuser drops (exit %d):\n%s", code, out)
	}
}

// TestDescribeShowsEveryOption: \d NAME shows a column for every option
// the table stores (derived from it, so a new option shows with no edit),
// with the connection's values, and the S3 connection's bucket and prefix.
func TestDescribeShowsEveryOption(t *testing.T) {
	bin := buildREPL(t)
	dir := t.TempDir()
	script := "CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', ASSUME ROLE SESSION NAME = 'nightly', REGION = 'eu-west-1');\n" +
		"CREATE CONNECTION lake TO S3 (PREFIX = 's3://exports/a/') USING AWS CONNECTION c;\n" +
		"\\d lake\n"
	lines, code := runJSON(t, bin, dir, script, "-db", filepath.Join(dir, "c.db"))
	if code != 0 || len(lines) != 3 || lines[2].Error != nil || len(lines[2].Rows) != 1 {
		t.Fatalf("exit %d: %+v", code, lines)
	}
	d := lines[2]
	value := map[string]any{}
	for i, col := range d.Columns {
		value[col] = d.Rows[0][i]
	}
	for _, col := range conncat.OptionColumns() {
		if _, ok := value[col]; !ok {
			t.Errorf("\\d shows no %s column: %v", col, d.Columns)
		}
	}
	for col, want := range map[string]any{"assume_role_session_name": "nightly", "region": "eu-west-1", "bucket": "exports", "prefix": "a/", "aws_connection": "c"} {
		if value[col] != want {
			t.Errorf("\\d lake: %s = %v, want %v", col, value[col], want)
		}
	}
}
