package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/conncat/conncat/catalog/sqlite"
)

// TestReplicaRemovesWhatCrashesLeft: a new replica removes the replica
// directories no process holds (a crashed process's), and leaves alone the
// ones in use (by this process too) and the ones still being made.
func TestReplicaRemovesWhatCrashesLeft(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx := context.Background()
	live, err := sqlite.NewReplica(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	crashed := filepath.Join(tmp, "conncat-replica-crashed")
	making := filepath.Join(tmp, "conncat-replica-making")
	for _, dir := range []string{crashed, making} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "replica.db"), []byte("left behind"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A lock file nobody holds: its process is gone.
	if err := os.WriteFile(filepath.Join(crashed, "in-use.lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	next, err := sqlite.NewReplica(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(crashed); !os.IsNotExist(err) {
		t.Errorf("the crashed process's replica is still there (%v)", err)
	}
	if _, err := os.Stat(making); err != nil {
		t.Errorf("a directory without a lock file was removed: %v", err)
	}
	dirs, _ := filepath.Glob(filepath.Join(tmp, "conncat-replica-*"))
	if len(dirs) != 3 { // live, next, making
		t.Errorf("replica directories now: %v", dirs)
	}
	next.Close()
	live.Close()
	if dirs, _ := filepath.Glob(filepath.Join(tmp, "conncat-replica-*")); len(dirs) != 1 {
		t.Errorf("after Close: %v, want only the one being made", dirs)
	}
}
