//go:build unix

package sqlite

import (
	"os"
	"path/filepath"
	"syscall"
)

// claimNew makes dir's lock file and holds an exclusive lock on it for as
// long as the returned file stays open: the process's mark that the
// replica is in use. A lock, not a process ID: it is released however the
// process ends, and it means the same across PID namespaces (containers
// sharing a /tmp). The file is locked under another name and then renamed
// into place, so removeOrphans (of another node opening at the same
// moment, in this process or another) never finds it unlocked and takes
// the replica being made for an orphan.
func claimNew(dir string) (*os.File, error) {
	tmp := filepath.Join(dir, lockFile+".new")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, lockFile)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// claim takes the lock of dir's existing lock file, if no process holds it.
func claim(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// removeOrphans removes the replica directories under tmp that no live
// process holds: what crashed processes left behind (a crash-looping node
// would otherwise fill the disk, one catalog copy a crash). A directory
// without a lock file is being made, or not a replica's: left alone.
func removeOrphans(tmp, self string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, replicaDirPattern))
	for _, dir := range dirs {
		if dir == self {
			continue
		}
		f, err := claim(dir) // no lock file: being made, or not a replica's
		if err != nil {
			continue // held: in use
		}
		os.RemoveAll(dir)
		f.Close()
	}
}
