package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conncat/conncat/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestPostgresCatalog: the REPL runs on a catalog in PostgreSQL given by
// URL, with its key file; without one it refuses to start and says why;
// a URL's password never appears in what it prints.
func TestPostgresCatalog(t *testing.T) {
	bin := buildREPL(t)
	cluster := testenv.Postgres(t)
	schema := cluster.Schema()
	key := filepath.Join(t.TempDir(), "catalog.key")
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"-db", cluster.URL, "-schema", schema}, args...)...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := run("-key-file", key, "-c", "CREATE CONNECTION pg TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')",
		"-c", "SELECT name, type FROM mz_connections")
	if code != 0 || !strings.Contains(out, "pg   | aws") && !strings.Contains(out, "pg | aws") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, code = run("-c", "SHOW CONNECTIONS")
	if code != 2 || !strings.Contains(out, "WithKeyFile") {
		t.Fatalf("without a key file: exit %d:\n%s", code, out)
	}
	withPassword := strings.Replace(cluster.URL, "postgres@", "postgres:fake-password-3301@", 1)
	cmd := exec.Command(bin, "-db", withPassword+"&connect_timeout=1", "-schema", "Bad-Schema", "-key-file", key, "-c", "SHOW CONNECTIONS")
	printed, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || strings.Contains(string(printed), "fake-password-3301") {
		t.Fatalf("a failed open printed:\n%s", printed)
	}
}
