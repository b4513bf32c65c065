package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	// The driver the readiness check and schema clean-up use.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// PostgresBin is where PostgreSQL's server programs live on machines of
// this kind; $CONNCAT_PG_BIN overrides it.
func PostgresBin() string {
	if p := os.Getenv("CONNCAT_PG_BIN"); p != "" {
		return p
	}
	return "/usr/lib/postgresql/15/bin"
}

// PostgresCluster is a throwaway PostgreSQL cluster on 127.0.0.1: a fresh
// data directory, a free port, fsync off (it lives for one test binary,
// and a crash of the server process keeps what the OS was handed; the
// commit itself still waits for its WAL write, so RestartImmediate loses
// nothing committed).
type PostgresCluster struct {
	// URL reaches the cluster's postgres database as its superuser.
	URL     string
	dir     string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	out     *SyncBuffer
	cred    *syscall.Credential
	schemas atomic.Int64
}

var shared struct {
	once sync.Once
	c    *PostgresCluster
	err  error
}

// Postgres returns the cluster this test binary shares, started on first
// use. A test binary that uses it stops it from TestMain (Run).
// The cluster cannot start: the test fails, it is never skipped.
func Postgres(t testing.TB) *PostgresCluster {
	t.Helper()
	shared.once.Do(func() { shared.c, shared.err = StartPostgres() })
	if shared.err != nil {
		t.Fatalf("start PostgreSQL: %v", shared.err)
	}
	return shared.c
}

// Run runs a package's tests and then stops what they shared: the
// PostgreSQL cluster, if a test started it, and the binaries Build made.
// Call it from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	if shared.c != nil {
		shared.c.Stop()
	}
	removeBuilds()
	return code
}

// Schema returns a schema name no other test of this binary uses, for a
// catalog of its own in the shared cluster.
func (c *PostgresCluster) Schema() string {
	return fmt.Sprintf("t%d_%d", os.Getpid(), c.schemas.Add(1))
}

// StartPostgres initialises and starts a cluster. PostgreSQL refuses to
// run as root, so as root it runs as the postgres OS user.
func StartPostgres() (*PostgresCluster, error) {
	removeAbandonedClusters()
	dir, err := os.MkdirTemp("", "conncat-pg-")
	if err != nil {
		return nil, err
	}
	c := &PostgresCluster{dir: dir, out: serverOutput(), exited: make(chan struct{})}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresUser(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := c.initdb(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.start(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// removeAbandonedClusters removes the directories of clusters whose test
// binary was killed before it could stop them (Pdeathsig already stopped
// the server): no postmaster.pid names a live process.
func removeAbandonedClusters() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "conncat-pg-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
		if err == nil {
			if pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0]); err == nil && syscall.Kill(pid, 0) == nil {
				continue
			}
		}
		if info, err := os.Stat(dir); err == nil && time.Since(info.ModTime()) > time.Minute {
			os.RemoveAll(dir)
		}
	}
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres OS user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (c *PostgresCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(PostgresBin(), name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func (c *PostgresCluster) initdb() error {
	cmd := c.command("initdb", "-D", filepath.Join(c.dir, "data"), "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

// start runs the postmaster in the foreground as a child, so that the
// test binary owns it; Pdeathsig stops it if the binary dies first.
func (c *PostgresCluster) start() error {
	if c.port == 0 {
		c.port = freePort()
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	cmd := c.command("postgres", "-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(c.port),
		"-h", "127.0.0.1", "-k", c.dir, "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %v", err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(c.exited) }()
	return c.waitReady(30 * time.Second)
}

func (c *PostgresCluster) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		db, err := sql.Open("pgx", c.URL)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited before it was ready:\n%s", c.out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %v\n%s", within, err, c.out)
		}
	}
}

// StartStandby makes a streaming standby of the cluster (pg_basebackup
// -R: it follows the primary's WAL) and starts it on a port of its own.
// The caller stops it.
func (c *PostgresCluster) StartStandby() (*PostgresCluster, error) {
	dir, err := os.MkdirTemp("", "conncat-pg-")
	if err != nil {
		return nil, err
	}
	s := &PostgresCluster{dir: dir, out: serverOutput(), exited: make(chan struct{}), cred: c.cred}
	if s.cred != nil {
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	backup := s.command("pg_basebackup", "-D", filepath.Join(dir, "data"), "-h", "127.0.0.1", "-p", strconv.Itoa(c.port),
		"-U", "postgres", "-R", "-X", "stream", "--no-sync")
	if out, err := backup.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_basebackup: %v\n%s", err, out)
	}
	if err := s.start(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Promote makes a standby the primary (pg_ctl promote) and waits until it
// accepts writes.
func (c *PostgresCluster) Promote() error {
	if out, err := c.command("pg_ctl", "promote", "-w", "-D", filepath.Join(c.dir, "data")).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl promote: %v\n%s", err, out)
	}
	return nil
}

// Port is the port the cluster listens on, on 127.0.0.1.
func (c *PostgresCluster) Port() int { return c.port }

// RestartImmediate stops the server as `pg_ctl restart -m immediate`
// does (SIGQUIT: every backend ends at once, no checkpoint; the restart
// replays the WAL) and starts it again on the same port.
func (c *PostgresCluster) RestartImmediate() error {
	if err := c.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return err
	}
	<-c.exited
	return c.start()
}

// Stop stops the cluster (a fast shutdown) and removes its files.
func (c *PostgresCluster) Stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.exited
		}
	}
	os.RemoveAll(c.dir)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
