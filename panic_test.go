package conncat_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

const (
	fakeSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fakeToken     = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
)

// panicError asserts err is the statement boundary's XX000 for a panic: it
// names the site, says nothing was applied, and shows no secret.
func panicError(t *testing.T, err error, site string) {
	t.Helper()
	var e *conncat.Error
	if !errors.As(err, &e) || e.Code != sqlstate.Internal {
		t.Fatalf("want an XX000 error for the panic, got %v", err)
	}
	if !strings.Contains(e.Detail, site) || !strings.Contains(e.Hint, "not applied") {
		t.Errorf("error does not say where it panicked (%s) or that nothing was applied: %+v", site, e)
	}
	for _, s := range []string{fakeSecretKey, fakeToken} {
		if strings.Contains(e.Message+e.Detail+e.Hint, s) {
			t.Errorf("the panic's error shows a secret: %+v", e)
		}
	}
}

// TestPanicInsideStatement: engine code that panics while a statement's
// transaction is open (here the clock conncat stamps rows with) gives the
// caller an XX000 error, leaves the catalog as it was, and does not leave
// SQLite's write lock behind: the next statements, on this handle and on
// another, commit at once.
func TestPanicInsideStatement(t *testing.T) {
	var armed atomic.Bool
	clock := func() time.Time {
		if armed.Load() {
			panic("clock broke while holding " + fakeSecretKey)
		}
		return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	}
	path := filepath.Join(t.TempDir(), "panic.db")
	ctx := context.Background()
	cat, err := conncat.Open(ctx, path, conncat.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	mustExec(t, cat, `CREATE SECRET sk AS '`+fakeSecretKey+`'`)

	armed.Store(true)
	_, err = cat.Exec(ctx, `CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = '`+fakeToken+`')`)
	panicError(t, err, "TestPanicInsideStatement")
	armed.Store(false)

	// Shorter than the busy timeout: a leaked write lock would fail these.
	quick, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	res, err := cat.Exec(quick, `SHOW CONNECTIONS`)
	if err != nil || len(res[0].Rows) != 0 {
		t.Fatalf("after the panic: %v, rows %v; want no connection", err, res)
	}
	if _, err := cat.Exec(quick, `CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk)`); err != nil {
		t.Fatalf("same handle after the panic: %v", err)
	}
	other, err := conncat.Open(quick, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(quick, `CREATE SECRET s2 AS 'x'`); err != nil {
		t.Fatalf("another handle after the panic: %v", err)
	}
}

// panickingCredentials is an engine credentials provider with a bug.
type panickingCredentials struct{}

func (panickingCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	var creds map[string]string
	creds["key"] = fakeSecretKey // assignment to a nil map
	return aws.Credentials{}, nil
}

// catalogWithPanickingCredentials opens a catalog whose engine credentials
// panic, beside an awstest STS for its connections.
func catalogWithPanickingCredentials(t *testing.T) (*awstest.STS, *conncat.Catalog) {
	fake := awstest.NewSTS()
	t.Cleanup(fake.Close)
	key, secret := fake.AddUser(engineUser)
	cfg := fake.Config(key, secret)
	cfg.Credentials = panickingCredentials{}
	return fake, openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(cfg))
}

// TestPanicOnValidateGoroutine: VALIDATE runs its checks on goroutines;
// a panic there (here in the engine's credentials provider) would end the
// process if left where it happened. It comes back to the caller as
// XX000, and WITH (VALIDATE) creates nothing.
func TestPanicOnValidateGoroutine(t *testing.T) {
	fake, cat := catalogWithPanickingCredentials(t)
	ctx := context.Background()
	create := `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '` + customerRole + `', STS ENDPOINT = '` + fake.URL + `')`

	_, err := cat.Exec(ctx, create+` WITH (VALIDATE)`)
	panicError(t, err, "panickingCredentials.Retrieve")
	if res := mustExec(t, cat, `SHOW CONNECTIONS`); len(res[0].Rows) != 0 {
		t.Fatalf("WITH (VALIDATE) that panicked created %v", res[0].Rows)
	}
	mustExec(t, cat, create)
	_, err = cat.Exec(ctx, `VALIDATE CONNECTION r`)
	panicError(t, err, "panickingCredentials.Retrieve")
	var e *conncat.Error
	errors.As(err, &e)
	if !strings.Contains(e.Message, "assignment to entry in nil map") {
		t.Errorf("a runtime error's text is safe to show and should be: %q", e.Message)
	}
}

const panicChildEnv = "CONNCAT_PANIC_CHILD"

// TestPanicChild is the child of TestPanicOutputHidesSecrets: it panics
// with the value named in the environment, unrecovered, as a bug in an
// engine holding conncat's values would.
func TestPanicChild(t *testing.T) {
	which := os.Getenv(panicChildEnv)
	if which == "" {
		return
	}
	spec := connection.Spec{Name: "k", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: fakeSecretKey, SessionToken: fakeToken}
	stmt, err := sqlparse.ParseOne(`CREATE SECRET sk AS '` + fakeSecretKey + `'`)
	if err != nil {
		t.Fatal(err)
	}
	switch which {
	case "spec":
		panic(spec)
	case "spec-pointer":
		panic(&spec)
	case "resolved":
		panic(&catalog.Resolved{Name: "k", AWS: spec})
	case "statement":
		panic(stmt)
	case "error":
		panic(errors.Join(errors.New("wrapped"), errorFor(spec)))
	}
}

type specError struct{ spec connection.Spec }

func (e specError) Error() string { return "connection " + e.spec.String() + " failed" }

func errorFor(s connection.Spec) error { return specError{s} }

// TestPanicOutputHidesSecrets: when a value holding a secret reaches an
// unrecovered panic, Go prints it (with String or Error if it has one) to
// stderr, which engines collect into their logs. The output names the
// value but never shows the secret.
func TestPanicOutputHidesSecrets(t *testing.T) {
	for _, which := range []string{"spec", "spec-pointer", "resolved", "statement", "error"} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestPanicChild$")
		cmd.Env = append(os.Environ(), panicChildEnv+"="+which)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "panic: ") {
			t.Fatalf("%s: the child did not panic (err %v):\n%s", which, err, out)
		}
		for _, s := range []string{fakeSecretKey, fakeToken} {
			if strings.Contains(string(out), s) {
				t.Errorf("%s: panic output shows a secret:\n%s", which, out)
			}
		}
	}
}

// TestPanicInDataPlaneProvider: the engine's credentials provider panics
// while the data plane's cache refreshes on its own goroutine. The process
// lives on; the caller of Retrieve gets an error naming where it happened,
// never the panic's value.
func TestPanicInDataPlaneProvider(t *testing.T) {
	fake, cat := catalogWithPanickingCredentials(t)
	ctx := context.Background()
	mustExec(t, cat, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`', STS ENDPOINT = '`+fake.URL+`')`)
	conf, err := cat.AWSConfig(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first refresh, then the remembered failure
		_, err = conf.Credentials.Retrieve(ctx)
		var p *awscreds.PanicError
		if !errors.As(err, &p) || !strings.Contains(err.Error(), "panickingCredentials.Retrieve") ||
			!strings.Contains(err.Error(), "assignment to entry in nil map") {
			t.Fatalf("want the panic as an error naming its site, got %v", err)
		}
		if strings.Contains(err.Error(), fakeSecretKey) {
			t.Fatalf("the error shows the panic's value: %v", err)
		}
	}
}
