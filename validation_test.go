package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
)

func validationRows(t *testing.T, cat *conncat.Catalog, name string) string {
	t.Helper()
	res := mustExec(t, cat, `SELECT v."check", v.status FROM mz_connection_validations v JOIN mz_connections c ON c.id = v.connection_id WHERE c.name = '`+name+`' ORDER BY v."check"`)
	var b strings.Builder
	for _, r := range res[0].Rows {
		fmt.Fprintf(&b, "%s %s\n", r[0], r[1])
	}
	return b.String()
}

func TestValidateConnectionStatement(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)))
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	policy := pastedTrustPolicy(t, cat, "aws_conn")

	// Before the customer creates the role: the statement fails with the
	// rows, and the error carries the failed checks.
	res, err := cat.Exec(context.Background(), `VALIDATE CONNECTION aws_conn`)
	var e *conncat.Error
	if !errors.As(err, &e) || e.Code != "XX000" || !strings.Contains(e.Detail, "credentials: AWS refused to let") || e.Hint == "" {
		t.Fatalf("got %v", err)
	}
	if len(res) != 1 || len(res[0].Rows) != 2 || res[0].Rows[0][1] != "FAIL" || res[0].Rows[1][1] != "SKIP" {
		t.Fatalf("rows %v", res)
	}
	if strings.Join(res[0].Columns, ",") != "check,status,message,hint,duration_ms" {
		t.Fatalf("columns %v", res[0].Columns)
	}
	if got := validationRows(t, cat, "aws_conn"); got != "credentials FAIL\nexternal_id_required SKIP\n" {
		t.Fatalf("recorded:\n%s", got)
	}

	// The customer pastes the trust policy: everything passes and the
	// table shows the latest results.
	if err := fake.AddRole(customerRole, policy); err != nil {
		t.Fatal(err)
	}
	// A front end following the run sees each check as it finishes, before
	// Exec returns.
	var seen []string
	ctx := conncat.WithValidationProgress(context.Background(), func(p conncat.CheckProgress) {
		seen = append(seen, p.Check+" "+p.Status)
	})
	res, err = cat.Exec(ctx, `VALIDATE CONNECTION aws_conn`)
	if err != nil || res[0].Tag != "VALIDATE CONNECTION" || res[0].Rows[0][1] != "PASS" || res[0].Rows[1][1] != "PASS" {
		t.Fatalf("rows %v, err %v", res, err)
	}
	sort.Strings(seen)
	if strings.Join(seen, ",") != "credentials PASS,external_id_required PASS" {
		t.Fatalf("progress saw %q", seen)
	}
	if got := validationRows(t, cat, "aws_conn"); got != "credentials PASS\nexternal_id_required PASS\n" {
		t.Fatalf("recorded:\n%s", got)
	}

	_, err = cat.Exec(context.Background(), `VALIDATE CONNECTION nope`)
	if !errors.As(err, &e) || e.Code != "42704" || e.Position != 20 {
		t.Fatalf("unknown connection: %#v", err)
	}
}

// WITH (VALIDATE = true) leaves the catalog exactly as before when a check fails.
func TestValidateBeforeCommit(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	goodKey, goodSecret := fake.AddUser("arn:aws:iam::123456789012:user/writer")
	cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)))

	mustExec(t, cat, `CREATE SECRET bad AS 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'`)
	_, err := cat.Exec(context.Background(), `CREATE CONNECTION k TO AWS (ACCESS KEY ID = '`+goodKey+`', SECRET ACCESS KEY = SECRET bad, STS ENDPOINT = '`+fake.URL+`') WITH (VALIDATE = true)`)
	var e *conncat.Error
	if !errors.As(err, &e) || e.Code != "XX000" || !strings.Contains(e.Message, "not applied") || !strings.Contains(e.Detail, "secret access key is wrong") {
		t.Fatalf("got %v", err)
	}
	if res := mustExec(t, cat, `SELECT count(*) FROM mz_connections`); res[0].Rows[0][0] != int64(0) {
		t.Fatalf("a connection that failed validation was created: %v", res[0].Rows)
	}

	mustExec(t, cat, fmt.Sprintf(`CREATE SECRET good AS '%s'`, goodSecret))
	mustExec(t, cat, `CREATE CONNECTION k TO AWS (ACCESS KEY ID = '`+goodKey+`', SECRET ACCESS KEY = SECRET good, STS ENDPOINT = '`+fake.URL+`') WITH (VALIDATE)`)
	if got := validationRows(t, cat, "k"); got != "credentials PASS\n" {
		t.Fatalf("recorded:\n%s", got)
	}
	before := mustExec(t, cat, `SHOW CREATE CONNECTION k`)[0].Rows

	_, err = cat.Exec(context.Background(), `ALTER CONNECTION k SET (SECRET ACCESS KEY = SECRET bad) WITH (VALIDATE = true)`)
	if !errors.As(err, &e) || e.Code != "XX000" {
		t.Fatalf("got %v", err)
	}
	after := mustExec(t, cat, `SHOW CREATE CONNECTION k`)[0].Rows
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("a failed ALTER ... WITH (VALIDATE) changed the connection:\n%v\n%v", before, after)
	}
	// Dependencies too: dropping the bad secret is allowed, as nothing uses it.
	mustExec(t, cat, `DROP SECRET bad`)
}

// TestHintsNameTheConnectionAsSQL: a hint that shows a statement writes
// the connection's name so that the statement runs as shown, quoted when
// the name needs it.
func TestHintsNameTheConnectionAsSQL(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	// A careless customer: the role does not ask for the external ID.
	if err := fake.AddRole(customerRole, awstest.TrustWithoutExternalID(engineUser)); err != nil {
		t.Fatal(err)
	}
	cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)))
	mustExec(t, cat, `CREATE CONNECTION "Prod ""Exports""" TO AWS (ASSUME ROLE ARN = '`+customerRole+`', STS ENDPOINT = '`+fake.URL+`')`)

	res, err := cat.Exec(context.Background(), `VALIDATE CONNECTION "Prod ""Exports"""`)
	if err == nil {
		t.Fatal("a role that does not require the external ID passed")
	}
	hint := res[0].Rows[1][3].(string)
	const show = `SHOW TRUST POLICY FOR CONNECTION "Prod ""Exports"""`
	if !strings.Contains(hint, show) {
		t.Fatalf("hint does not show a statement that runs: %q", hint)
	}
	if got := mustExec(t, cat, show); !strings.Contains(got[0].Rows[0][2].(string), "sts:ExternalId") {
		t.Fatalf("the hint's statement printed %v", got[0].Rows)
	}
}

// TestValidateHoldsNoLock: while CREATE/ALTER ... WITH (VALIDATE) waits on
// the network, the catalog is not locked: another handle on the file (a
// process, to SQLite) opens it, runs DDL and reads. If that DDL changes
// the connection being validated, the statement validates again what it
// will commit.
func TestValidateHoldsNoLock(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	keyA, secretA := fake.AddUser("arn:aws:iam::123456789012:user/writer-a")
	keyB, secretB := fake.AddUser("arn:aws:iam::123456789012:user/writer-b")
	arrived, release := make(chan struct{}, 10), make(chan struct{})
	forward := httputil.NewSingleHostReverseProxy(mustURL(t, fake.URL))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release // an STS that does not answer until the test says so
		forward.ServeHTTP(w, r)
	}))
	defer slow.Close()
	var once sync.Once
	releaseAll := func() { once.Do(func() { close(release) }) }
	defer releaseAll() // before slow.Close, which waits for its handlers

	path := filepath.Join(t.TempDir(), "shared.db")
	ctx := context.Background()
	cat, err := conncat.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	mustExec(t, cat, fmt.Sprintf(`CREATE SECRET kid AS '%s'; CREATE SECRET ksecret AS '%s';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = SECRET kid, SECRET ACCESS KEY = SECRET ksecret, STS ENDPOINT = '%s')`, keyA, secretA, slow.URL))

	done := make(chan error, 1)
	go func() {
		_, err := cat.Exec(ctx, `ALTER CONNECTION k SET (REGION = 'eu-west-1') WITH (VALIDATE)`)
		done <- err
	}()
	<-arrived // the validation is waiting on the network

	other, err := conncat.Open(ctx, path, conncat.WithStatementTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("open beside a running validation: %v", err)
	}
	defer other.Close()
	mustExec(t, other, fmt.Sprintf(`CREATE SECRET unrelated AS 'x'; ALTER SECRET kid AS '%s'; ALTER SECRET ksecret AS '%s'`, keyB, secretB))
	if res := mustExec(t, other, `SELECT count(*) FROM mz_secrets`); res[0].Rows[0][0] != int64(3) {
		t.Fatalf("read beside a running validation: %v", res[0].Rows)
	}
	releaseAll()
	if err := <-done; err != nil {
		t.Fatalf("WITH (VALIDATE) after a concurrent change: %v", err)
	}
	// It validated twice (the keys changed under it) and committed what it
	// validated the second time: writer-b's keys, in eu-west-1.
	if n := fake.Calls("GetCallerIdentity"); n != 2 {
		t.Errorf("%d GetCallerIdentity calls, want 2 (validated again after the keys changed)", n)
	}
	r, err := cat.Resolve(ctx, "k")
	if err != nil || r.AWS.Region != "eu-west-1" || r.AWS.AccessKeyID != keyB {
		t.Fatalf("committed %v, %v", r, err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
