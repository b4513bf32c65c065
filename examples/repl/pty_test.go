package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/conncat/conncat/internal/testenv"
)

// TestInteractiveTerminal types into the REPL through a pseudo-terminal,
// as a person would: a statement over two lines, tab completion of a
// connection name, history recall with the up arrow, and an error with a
// caret under the bad token.
func TestInteractiveTerminal(t *testing.T) {
	bin := buildREPL(t)
	home := t.TempDir()
	cmd := exec.Command(bin, "-db", filepath.Join(home, "c.db"))
	cmd.Env = append(os.Environ(), "HOME="+home, "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 60, Cols: 250})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	screen := &testenv.SyncBuffer{}
	go io.Copy(screen, ptmx)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// expect waits until text has appeared n times in all the output.
	expect := func(text string, n int) {
		t.Helper()
		start := time.Now()
		for strings.Count(screen.String(), text) < n {
			if time.Since(start) > testenv.HangBound {
				t.Fatalf("waited for %q ×%d; the terminal shows:\n%s", text, n, screen.String())
			}
			// Polling pause: the screen is read again after it.
			time.Sleep(20 * time.Millisecond)
		}
	}
	send := func(keys string) {
		t.Helper()
		if _, err := ptmx.Write([]byte(keys)); err != nil {
			t.Fatal(err)
		}
	}

	expect("conncat=> ", 1)
	// A statement spans lines until ';': the second prompt shows it is
	// still being typed.
	send("CREATE CONNECTION aws_conn TO AWS\r")
	expect("conncat-> ", 1)
	send("  (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R');\r")
	expect("CREATE CONNECTION\r\n", 1)

	// Tab completes the connection name; without it SHOW CREATE would fail
	// on the unknown name aws_c.
	expect("conncat=> ", 3)
	send("SHOW CREATE CONNECTION aws_c\t")
	expect("aws_conn", 2)
	send(";\r")
	expect("(1 row)", 1)
	if strings.Contains(screen.String(), "42704") {
		t.Fatalf("completion did not complete the name:\n%s", screen.String())
	}

	// The up arrow recalls the last statement; Enter runs it again.
	expect("conncat=> ", 4)
	recalled := strings.Count(screen.String(), "aws_conn;")
	send("\x1b[A")
	expect("aws_conn;", recalled+1) // the line editor redrew the recalled line
	send("\r")
	expect("(1 row)", 2)

	// A syntax error names the SQLSTATE and points at the token.
	expect("conncat=> ", 5)
	send("SELEC 1;\r")
	expect("ERROR 42601", 1)
	expect("  SELEC 1;\r\n  ^", 1)

	// A secret in a statement that failed (a ';' missing) is hidden in
	// the history file like any other.
	expect("conncat=> ", 6)
	send("SHOW SECRETS CREATE SECRET s AS 'MarkedSecret4b1f';\r")
	expect("ERROR 42601", 2)

	// A row wider than the terminal (250 columns) is shown expanded by
	// itself, as psql's \x auto does.
	expect("conncat=> ", 7)
	send("SELECT create_sql, redacted_create_sql, create_sql AS again FROM mz_connections;\r")
	expect("-[ RECORD 1 ]", 1)

	expect("conncat=> ", 8)
	send("\\q\r")
	select {
	case err := <-exited:
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit %d (%v), want 1: a statement failed", code, err)
		}
	case <-time.After(testenv.HangBound):
		t.Fatalf("\\q did not end the session:\n%s", screen.String())
	}
	hist, err := os.ReadFile(filepath.Join(home, ".conncat_history"))
	if err != nil || !strings.Contains(string(hist), "SHOW CREATE CONNECTION aws_conn;") ||
		strings.Contains(string(hist), "MarkedSecret4b1f") || !strings.Contains(string(hist), "CREATE SECRET s AS '<redacted>';") ||
		!strings.Contains(string(hist), "CREATE CONNECTION aws_conn TO AWS   (ASSUME ROLE ARN") {
		t.Errorf("history file: %q, %v", hist, err)
	}
}
