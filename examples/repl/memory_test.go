package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// eightMB is an expression of 8×10^6 bytes, under the 8 MiB a value may
// have, made by a query of a few hundred bytes.
const eightMB = "concat(m.s, m.s, m.s, m.s, m.s, m.s, m.s, m.s)"

// TestOneStatementStaysSmall: the worst short query (one 8 MB value
// multiplied by 300 rows, 2.4 GB of result) fails at the statement's
// result budget while its rows are read, and the REPL's peak memory stays
// far below what the result would have taken. Memory is the machine's
// own measure of the process (its peak RSS), not a time: it is asserted.
func TestOneStatementStaysSmall(t *testing.T) {
	bin := buildREPL(t)
	megabyte := "replace(replace(replace(replace(replace('xxxxxxxxxx','x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx')"
	query := fmt.Sprintf("WITH m(s) AS (SELECT %s), r(n, s) AS (SELECT 1, %s FROM m UNION ALL SELECT n + 1, s FROM r WHERE n < 300) SELECT n, s FROM r",
		megabyte, eightMB)
	query = "WITH RECURSIVE" + strings.TrimPrefix(query, "WITH")
	cmd := exec.Command(bin, "-db", filepath.Join(t.TempDir(), "c.db"), "-c", query)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "54000") || !strings.Contains(string(out), "larger than 64 MiB") {
		t.Fatalf("2.4 GB of result: %v\n%.500s", err, out)
	}
	peakMB := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss / 1024
	t.Logf("peak RSS of the REPL: %d MB", peakMB)
	if peakMB >= 512 {
		t.Fatalf("one statement took the REPL to %d MB (target: under 512 MB)", peakMB)
	}
}
