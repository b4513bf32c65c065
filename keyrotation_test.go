package conncat_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/testenv"
)

const rotateChildEnv = "CONNCAT_ROTATE_CHILD"

// TestRotateKeyChild is the other process of TestRotateKeyAcrossProcesses:
// it opens the catalog with the key file before the rotation, then runs
// each statement it reads on stdin and answers "ok" or the error's code.
func TestRotateKeyChild(t *testing.T) {
	dir := os.Getenv(rotateChildEnv)
	if dir == "" {
		return // run only as the child
	}
	ctx := context.Background()
	cat, err := conncat.Open(ctx, filepath.Join(dir, "c.db"), conncat.WithKeyFile(filepath.Join(dir, "key")))
	if err != nil {
		fmt.Println("open:", err)
		return
	}
	defer cat.Close()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		_, err := cat.Exec(ctx, in.Text())
		var e *conncat.Error
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.As(err, &e):
			fmt.Println(e.Code, errors.Is(err, catalog.ErrKeyMismatch))
		default:
			fmt.Println("uncoded:", err)
		}
	}
}

// TestRotateKeyAcrossProcesses: after RotateKey in one process, another
// process that opened the catalog before it never seals under the retired
// key. While its key file still holds the old key its writes fail with
// 55000 (nothing sealed); once the file holds the new key, as RotateKey
// requires, it reloads the key and its writes succeed. Every secret then
// opens with the new key, and a later rotation works.
func TestRotateKeyAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	keyFile := filepath.Join(dir, "key")
	cat, err := conncat.Open(ctx, filepath.Join(dir, "c.db"), conncat.WithKeyFile(keyFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	mustExec(t, cat, `CREATE SECRET before_rotation AS 'fake-value-1'`)

	child := exec.Command(os.Args[0], "-test.run=^TestRotateKeyChild$", "-test.count=1")
	child.Env = append(os.Environ(), rotateChildEnv+"="+dir)
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	answers := bufio.NewScanner(stdout)
	ask := func(stmt string) string {
		t.Helper()
		if stmt != "" {
			fmt.Fprintln(stdin, stmt)
		}
		if !answers.Scan() {
			t.Fatalf("the child ended: %v", answers.Err())
		}
		return answers.Text()
	}
	if got := ask(""); got != "ready" {
		t.Fatalf("child: %s", got)
	}

	newKey := catalog.StaticKey([]byte("conncat-test-key-rotated-0123456"))
	if err := cat.RotateKey(ctx, newKey); err != nil {
		t.Fatal(err)
	}
	if got := ask(`CREATE SECRET stale AS 'fake-value-2'`); got != "55000 true" {
		t.Fatalf("a write with the retired key: %s, want 55000 and ErrKeyMismatch", got)
	}
	// The operator puts the new key where the child's provider reads it.
	if err := os.WriteFile(keyFile, newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ask(`CREATE SECRET after_rotation AS 'fake-value-3'`); got != "ok" {
		t.Fatalf("a write after the key file was replaced: %s", got)
	}
	stdin.Close()

	res := mustExec(t, cat, `SELECT name FROM mz_secrets ORDER BY name`)
	if got := fmt.Sprint(res[0].Rows); got != "[[after_rotation] [before_rotation]]" {
		t.Fatalf("secrets %s: the refused write left a row", got)
	}
	// Every value opens with the new key, and the next rotation works.
	stale, err := conncat.Open(ctx, filepath.Join(dir, "c.db"), conncat.WithKeyFile(keyFile))
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	third := catalog.StaticKey([]byte("conncat-test-key-third-012345678"))
	if err := cat.RotateKey(ctx, third); err != nil {
		t.Fatalf("the next rotation: %v", err)
	}
	// A handle that opened before that rotation rotates from the key the
	// values are sealed under now, once its provider gives it.
	if err := os.WriteFile(keyFile, third, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := stale.RotateKey(ctx, catalog.StaticKey([]byte("conncat-test-key-fourth-01234567"))); err != nil {
		t.Fatalf("a rotation from a handle opened before the last one: %v", err)
	}
}

// TestRotateKeyWhileOtherNodesWrite: one handle rotates while another
// (another process on SQLite, another node on PostgreSQL) keeps creating
// secrets. Every write either succeeds or is refused with 55000, none is
// sealed under the retired key (the next rotation, which opens every
// value, succeeds), and the writer reads the values after the rotation.
func TestRotateKeyWhileOtherNodesWrite(t *testing.T) {
	forEachBackend(t, testRotateKeyWhileOtherNodesWrite)
}

func testRotateKeyWhileOtherNodesWrite(t *testing.T, backend string) {
	p := newPlace(t, backend)
	keyFile := filepath.Join(t.TempDir(), "shared.key")
	p.opts = append(p.opts, conncat.WithKeyFile(keyFile))
	rotator, writer := p.open(t), p.open(t)
	ctx := context.Background()
	done := make(chan []error)
	stop := make(chan struct{})
	var attempts atomic.Int64
	go func() {
		var errs []error
		for i := 0; ; i++ {
			attempts.Add(1)
			select {
			case <-stop:
				done <- errs
				return
			default:
			}
			_, err := writer.Exec(ctx, fmt.Sprintf("CREATE SECRET w_%d AS 'fake-value-%d'", i, i))
			var e *conncat.Error
			if err != nil && !(errors.As(err, &e) && e.Code == conncat.CodePrerequisiteState) {
				errs = append(errs, err)
			}
		}
	}()
	// The rotation starts once the writer is under way (and w_0 exists),
	// and the writer keeps going until a few writes after it ended.
	testenv.Eventually(t, "the writer's first writes", func() bool { return attempts.Load() > 5 })
	// The operator makes the new key durable where every node reads it,
	// then rotates.
	newKey := catalog.StaticKey([]byte("conncat-test-key-rotated-0123456"))
	if err := os.WriteFile(keyFile, newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rotator.RotateKey(ctx, catalog.FileKey{Path: keyFile}); err != nil {
		t.Fatal(err)
	}
	rotated := attempts.Load()
	testenv.Eventually(t, "writes after the rotation", func() bool { return attempts.Load() > rotated+5 })
	close(stop)
	for _, err := range <-done {
		t.Errorf("writer during the rotation: %v", err)
	}
	mustExec(t, writer, `CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET w_0)`)
	if r, err := writer.Resolve(ctx, "k"); err != nil || r.AWS.SecretAccessKey != "fake-value-0" {
		t.Fatalf("the writer reads after the rotation: %v", err)
	}
	if err := rotator.RotateKey(ctx, catalog.StaticKey([]byte("conncat-test-key-third-012345678"))); err != nil {
		t.Fatalf("a value was sealed under the retired key: the next rotation fails: %v", err)
	}
}
