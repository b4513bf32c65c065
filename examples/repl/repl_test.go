package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const fakeSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// buildREPL builds the binary once per test run, as a user would run it.
func buildREPL(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "repl")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
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
