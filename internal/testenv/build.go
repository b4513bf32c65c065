package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// builds holds the binaries Build made in this test binary, by package.
var builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string
	errs map[string]error
}

// Build compiles the main package in dir (relative to the test's working
// directory, "." for the package under test) once per test binary, as a
// user would run it, and returns the executable's path. Every test of the
// package shares it; Run removes it when the tests end. A build that
// fails fails every test that asks for it.
func Build(t testing.TB, dir string) string {
	t.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if bin, ok := builds.bins[dir]; ok {
		return bin
	}
	if err, ok := builds.errs[dir]; ok {
		t.Fatal(err)
	}
	bin, err := build(dir)
	if err != nil {
		if builds.errs == nil {
			builds.errs = map[string]error{}
		}
		builds.errs[dir] = err
		t.Fatal(err)
	}
	if builds.bins == nil {
		builds.bins = map[string]string{}
	}
	builds.bins[dir] = bin
	return bin
}

func build(dir string) (string, error) {
	if builds.dir == "" {
		tmp, err := os.MkdirTemp("", "conncat-build-")
		if err != nil {
			return "", err
		}
		builds.dir = tmp
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(builds.dir, fmt.Sprintf("bin%d-%s", len(builds.bins), filepath.Base(abs)))
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = abs
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", dir, err, out)
	}
	return bin, nil
}

func removeBuilds() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
}
