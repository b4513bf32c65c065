// Package testenv starts the real servers integration tests run against
// (moto, MinIO) on 127.0.0.1 and free ports, and stops them when the test
// ends. A server that cannot start fails the test: a skipped integration
// test would pass without proving anything.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server is a child process in its own process group, so that stopping it
// also stops what it started (pyenv's shim runs moto as a grandchild).
type server struct {
	cmd    *exec.Cmd
	out    *SyncBuffer
	exited chan struct{} // closed when the process has been reaped
}

// serverOutput keeps what a server prints, enough to diagnose a failed start.
func serverOutput() *SyncBuffer { return &SyncBuffer{Limit: 64 << 10} }

func start(t testing.TB, name string, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := serverOutput()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v (the test command installs it; see README)", name, err)
	}
	s := &server{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	// Children that outlived the leader (a shim's grandchild) go too.
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
}

// waitReady polls url until it answers 200, the process exits, or the
// deadline passes.
func (s *server) waitReady(t testing.TB, url string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("%s exited before it was ready:\n%s", s.cmd.Path, s.out)
		case <-ctx.Done():
			t.Fatalf("%s not ready at %s after %v:\n%s", s.cmd.Path, url, within, s.out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Moto starts moto_server and returns its endpoint URL. Auth is off until
// MotoEnableAuth, so a test can create users and roles first.
func Moto(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("CONNCAT_MOTO_SERVER")
	if bin == "" {
		bin = "moto_server"
	}
	port := strconv.Itoa(FreePort(t))
	s := start(t, bin, nil, "-H", "127.0.0.1", "-p", port)
	url := "http://127.0.0.1:" + port
	s.waitReady(t, url+"/moto-api/", HangBound)
	return url
}

// MotoEnableAuth turns on moto's signature and IAM policy checks. From
// then on, every request must be signed by a known user whose policies
// allow it.
func MotoEnableAuth(t testing.TB, url string) {
	t.Helper()
	resp, err := http.Post(url+"/moto-api/reset-auth", "text/plain", strings.NewReader("0"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto reset-auth: %s", resp.Status)
	}
}

// MinIO credentials for the root user of every test server. Obviously
// fake: the server lives for one test on 127.0.0.1.
const (
	MinIORootUser     = "conncat-test-root"
	MinIORootPassword = "conncat-test-root-password"
)

// MinIOBinary is where the test command installs MinIO (see the Makefile):
// $CONNCAT_MINIO, else $XDG_CACHE_HOME/conncat/bin/minio.
func MinIOBinary() string {
	if p := os.Getenv("CONNCAT_MINIO"); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "conncat", "bin", "minio")
}

// MinIO starts a MinIO server with a fresh data directory and returns its
// endpoint URL. env adds settings, e.g. "MINIO_SITE_REGION=eu-west-1".
func MinIO(t testing.TB, env ...string) string {
	t.Helper()
	bin := MinIOBinary()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("MinIO is not installed at %s: run `make test` (it installs MinIO) or set CONNCAT_MINIO", bin)
	}
	port, console := FreePort(t), FreePort(t)
	base := []string{
		"MINIO_ROOT_USER=" + MinIORootUser,
		"MINIO_ROOT_PASSWORD=" + MinIORootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	}
	s := start(t, bin, append(base, env...), "server", t.TempDir(), "--quiet",
		"--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	region := "us-east-1"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "MINIO_SITE_REGION="); ok {
			region = v
		}
	}
	s.waitReady(t, url+"/minio/health/ready", HangBound)
	// Healthy is not ready: MinIO answers "Server not initialized" to STS
	// and IAM calls for a while after its health check passes. Ready is
	// when the calls the tests make succeed.
	Eventually(t, "MinIO answers S3 and STS as its root user", func() bool {
		select {
		case <-s.exited:
			t.Fatalf("%s exited before it was ready:\n%s", s.cmd.Path, s.out)
		default:
		}
		return minioAnswers(url, region)
	})
	return url
}

// minioAnswers reports whether MinIO at url (in region) serves a signed
// S3 call and a signed STS AssumeRole (the two kinds of call the tests
// make).
func minioAnswers(url, region string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := aws.Config{Region: region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(MinIORootUser, MinIORootPassword, "")}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		return false
	}
	_, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:minio:iam:::role/readiness"), RoleSessionName: aws.String("conncat-readiness"),
		DurationSeconds: aws.Int32(900)})
	return err == nil
}
