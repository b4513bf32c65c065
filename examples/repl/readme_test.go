package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlock returns the lines of the first ``` block after heading in
// README.md.
func readmeBlock(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, heading)
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	start := strings.Index(text[i:], "```\n")
	end := strings.Index(text[i+start+4:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("README's %q has no block", heading)
	}
	return strings.Split(strings.TrimRight(text[i+start+4:i+start+4+end], "\n"), "\n")
}

// readmeSession splits a README session into what is typed (after the
// prompts) and what is printed.
func readmeSession(lines []string) (typed, printed []string) {
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "conncat=> "), strings.HasPrefix(l, "conncat-> "):
			typed = append(typed, l[len("conncat=> "):])
		default:
			printed = append(printed, l)
		}
	}
	return typed, printed
}

var uuidV7 = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestREADMEWalkThrough runs README's walk-through as written (its
// command's flags, each line typed) and finds README's output at the start
// of the REPL's, external IDs aside (each run makes its own).
func TestREADMEWalkThrough(t *testing.T) {
	bin := buildREPL(t)
	lines := readmeBlock(t, "## Walk-through")
	command, ok := strings.CutPrefix(lines[0], "$ go run ./examples/repl")
	if !ok {
		t.Fatalf("the walk-through does not start with the REPL's command: %q", lines[0])
	}
	typed, printed := readmeSession(lines[1:])
	cmd := exec.Command(bin, append(strings.Fields(command), "-db", filepath.Join(t.TempDir(), "c.db"))...)
	cmd.Stdin = strings.NewReader(strings.Join(typed, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through fails: %v\n%s", err, out)
	}
	want := uuidV7.ReplaceAllString(strings.Join(printed, "\n"), "<uuid>")
	got := uuidV7.ReplaceAllString(string(out), "<uuid>")
	if !strings.HasPrefix(got, want) {
		t.Fatalf("README shows\n%s\nthe REPL printed\n%s", want, got)
	}
}

// TestREADMESandbox types README's sandbox session as written, comments
// included, and finds what each comment says happens.
func TestREADMESandbox(t *testing.T) {
	bin := buildREPL(t)
	typed, _ := readmeSession(readmeBlock(t, "### Sandbox"))
	cmd := exec.Command(bin, "-sandbox", "-format", "csv")
	cmd.Stdin = strings.NewReader(strings.Join(typed, "\n") + "\n")
	out, _ := cmd.CombinedOutput() // the first VALIDATE fails, on purpose
	got := string(out)
	for _, want := range []string{
		"credentials,PASS", "external_id_required,FAIL", // the careless policy
		"external_id_required,PASS", // after \sandbox trust
		"fresh",                     // the status table
	} {
		i := strings.Index(got, want)
		if i < 0 {
			t.Fatalf("the sandbox session lacks %q:\n%s", want, got)
		}
		got = got[i+len(want):]
	}
	if strings.Contains(string(out), "42601") {
		t.Fatalf("a line of the session did not parse (its comment?):\n%s", out)
	}
}
