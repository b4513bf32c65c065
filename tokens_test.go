package conncat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/internal/testenv"
)

// tokenWorld is an engine whose principal the fake STS knows, with one
// role connection "r" in eu-west-1 that the customer's role trusts.
type tokenWorld struct {
	fake  *awstest.STS
	cat   *conncat.Catalog
	trust string
}

func newTokenWorld(t testing.TB, opts ...conncat.Option) *tokenWorld {
	t.Helper()
	fake := awstest.NewSTS()
	t.Cleanup(fake.Close)
	key, sec := fake.AddUser(engineUser)
	cat := openTest(t, append([]conncat.Option{conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, sec))}, opts...)...)
	mustExec(t, cat, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`', REGION = 'eu-west-1')`)
	w := &tokenWorld{fake: fake, cat: cat, trust: pastedTrustPolicy(t, cat, "r")}
	if err := fake.AddRole(customerRole, w.trust); err != nil {
		t.Fatal(err)
	}
	return w
}

const dbEndpoint, dbUser = "orders.abc123.eu-west-1.rds.amazonaws.com:5432", "app_writer"

// TestRDSAuthToken: the token is signed by the customer role's session
// for the connection's region, host and user (checked as RDS checks it),
// never outlives the credentials, costs no STS call once they are cached,
// never prints, and follows DROP.
func TestRDSAuthToken(t *testing.T) {
	ctx := context.Background()
	w := newTokenWorld(t)
	tok, err := w.cat.RDSAuthToken(ctx, "r", dbEndpoint, dbUser)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.fake.VerifyRDSAuthToken(tok.Value(), dbEndpoint, "eu-west-1", dbUser)
	if err != nil {
		t.Fatalf("RDS would refuse the token: %v", err)
	}
	if p.Caller.RoleARN != customerRole || !strings.HasSuffix(p.Caller.ARN, "/conncat-prod-u1") {
		t.Errorf("signed by %+v, want the customer role's session for connection u1", p.Caller)
	}
	if !tok.Expires.Equal(p.Expires) || tok.Expires.After(p.CredentialsExpire) {
		t.Errorf("token expires %v; the service says %v, credentials %v", tok.Expires, p.Expires, p.CredentialsExpire)
	}
	for range 5 {
		if _, err := w.cat.RDSAuthToken(ctx, "r", dbEndpoint, dbUser); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.fake.Calls("AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls for six tokens, want 1", n)
	}
	for _, shown := range []string{fmt.Sprint(tok), fmt.Sprintf("%+v %#v %s %q", tok, tok, tok, tok), string(must(json.Marshal(tok)))} {
		if strings.Contains(shown, tok.Value()) || strings.Contains(shown, "X-Amz-Signature") {
			t.Fatalf("a token printed its value: %s", shown)
		}
	}
	mustExec(t, w.cat, `DROP CONNECTION r`)
	var e *conncat.Error
	if _, err := w.cat.RDSAuthToken(ctx, "r", dbEndpoint, dbUser); !errors.As(err, &e) || e.Code != conncat.CodeUndefinedObject {
		t.Errorf("token for a dropped connection: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRDSAuthTokenBadInput: what is not host:port, or no database's user
// name, is refused with 22023 before anything is signed.
func TestRDSAuthTokenBadInput(t *testing.T) {
	w := newTokenWorld(t)
	for _, c := range [][2]string{
		{"orders.example.com", dbUser}, {"orders.example.com:0", dbUser}, {"orders.example.com:99999", dbUser},
		{":5432", dbUser}, {"orders.example.com:http", dbUser}, {"a/b:5432", dbUser}, {strings.Repeat("h", 300) + ":5432", dbUser},
		{dbEndpoint, ""}, {dbEndpoint, "bad\nuser"}, {dbEndpoint, strings.Repeat("u", 129)},
	} {
		_, err := w.cat.RDSAuthToken(context.Background(), "r", c[0], c[1])
		var e *conncat.Error
		if !errors.As(err, &e) || e.Code != conncat.CodeInvalidParameterValue || e.Hint == "" {
			t.Errorf("endpoint %.40q user %q: %v", c[0], c[1], err)
		}
	}
	mustExec(t, w.cat, `CREATE CONNECTION lake TO S3 (PREFIX = 's3://lake/p/') USING AWS CONNECTION r`)
	var e *conncat.Error
	if _, err := w.cat.MSKAuthToken(context.Background(), "lake"); !errors.As(err, &e) || e.Code != conncat.CodeWrongObjectType || !strings.Contains(e.Hint, "use r") {
		t.Errorf("token for an S3 connection: %v", err)
	}
	if n := w.fake.Calls("AssumeRole"); n != 0 {
		t.Errorf("bad input reached STS %d times", n)
	}
}

// TestMSKAuthToken: the token is what an MSK broker accepts for the
// connection's region, signed by the customer role; its expiry is capped
// by credentials that expire first, and the cap holds when the broker
// checks it.
func TestMSKAuthToken(t *testing.T) {
	ctx := context.Background()
	w := newTokenWorld(t)
	// Credentials that have 5 minutes left: the STS's clock is 10
	// minutes behind when it issues a 15-minute session.
	mustExec(t, w.cat, `ALTER CONNECTION r SET (ASSUME ROLE DURATION = '15m')`)
	w.fake.SetClock(func() time.Time { return time.Now().Add(-10 * time.Minute) })
	tok, err := w.cat.MSKAuthToken(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	w.fake.SetClock(time.Now)
	p, err := w.fake.VerifyMSKAuthToken(tok.Value(), "eu-west-1")
	if err != nil {
		t.Fatalf("MSK would refuse the token: %v", err)
	}
	if p.Caller.RoleARN != customerRole {
		t.Errorf("signed by %+v", p.Caller)
	}
	if !tok.Expires.Equal(p.CredentialsExpire) || time.Until(tok.Expires) > 6*time.Minute {
		t.Errorf("token expires %v, credentials %v: the token must not outlive them", tok.Expires, p.CredentialsExpire)
	}
}

// TestTokensFollowTheConnection: after the customer's role stops trusting
// the engine and the connection is altered, no token is minted; Explain
// then says what VALIDATE says.
func TestTokensFollowTheConnection(t *testing.T) {
	ctx := context.Background()
	w := newTokenWorld(t)
	if _, err := w.cat.MSKAuthToken(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.SetTrustPolicy(customerRole, strings.ReplaceAll(w.trust, engineUser, "arn:aws:iam::210987654321:user/someone-else")); err != nil {
		t.Fatal(err)
	}
	mustExec(t, w.cat, `ALTER CONNECTION r SET (REGION = 'eu-central-1')`)
	_, err := w.cat.MSKAuthToken(ctx, "r")
	if err == nil {
		t.Fatal("a token after the role stopped trusting the engine")
	}
	res, verr := w.cat.Exec(ctx, `VALIDATE CONNECTION r`)
	if verr == nil {
		t.Fatal("VALIDATE passed")
	}
	check := res[0].Rows[0]
	got := conncat.Explain(err)
	if got.Message != check[2] || got.Hint != check[3] || got.Code != "AccessDenied" || got.Retryable {
		t.Errorf("Explain: %+v\nVALIDATE: %v", got, check)
	}
	if _, err := w.cat.RDSAuthToken(ctx, "r", dbEndpoint, dbUser); conncat.Explain(err).Message != got.Message {
		t.Errorf("RDS token error explained as %+v", conncat.Explain(err))
	}
}

// TestExplainDataPlaneErrors: errors of clients built from handed-out
// configs are explained in terms of the connection: an S3 refusal names
// the action and asks for the grant on the whole prefix; a call that
// failed because the credentials did is explained by the credentials.
func TestExplainDataPlaneErrors(t *testing.T) {
	ctx := context.Background()
	denied := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/xml")
		rw.WriteHeader(http.StatusForbidden)
		fmt.Fprint(rw, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
	}))
	defer denied.Close()
	w := newTokenWorld(t, conncat.WithPlainHTTPEndpoints())
	mustExec(t, w.cat, `CREATE SECRET sk AS 'fake-secret-explain';
		CREATE CONNECTION keys TO AWS (ACCESS KEY ID = 'AKIAFAKEEXPLAIN', SECRET ACCESS KEY = SECRET sk, ENDPOINT = '`+denied.URL+`');
		CREATE CONNECTION lake TO S3 (PREFIX = 's3://lake/tenant-7/') USING AWS CONNECTION keys;
		CREATE CONNECTION lake_r TO S3 (PREFIX = 's3://lake/tenant-8/') USING AWS CONNECTION r`)
	loc, err := w.cat.S3Location(ctx, "lake")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := loc.Key("part-0.parquet")
	_, err = loc.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key), Body: strings.NewReader("x")})
	got := conncat.Explain(err)
	if got.Code != "AccessDenied" || got.Message != "access denied for s3:PutObject on s3://lake/tenant-7/part-0.parquet" ||
		!strings.Contains(got.Hint, "arn:aws:s3:::lake/tenant-7/*") || got.Retryable {
		t.Errorf("S3 refusal explained as %+v (from %v)", got, err)
	}

	// The role stops trusting the engine: an S3 call fails at its
	// credentials, and the explanation is the credentials'.
	if err := w.fake.SetTrustPolicy(customerRole, strings.ReplaceAll(w.trust, engineUser, "arn:aws:iam::210987654321:user/someone-else")); err != nil {
		t.Fatal(err)
	}
	locR, err := w.cat.S3Location(ctx, "lake_r")
	if err != nil {
		t.Fatal(err)
	}
	_, err = locR.Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(locR.Bucket)})
	if got := conncat.Explain(err); !strings.HasPrefix(got.Message, "AWS refused to let "+engineUser+" assume "+customerRole) || !strings.Contains(got.Hint, "SHOW TRUST POLICY FOR CONNECTION r") {
		t.Errorf("credentials failure explained as %+v (from %v)", got, err)
	}
	if got := conncat.Explain(nil); got != (conncat.Explanation{}) {
		t.Errorf("Explain(nil) = %+v", got)
	}
	if got := conncat.Explain(errors.New("something else")); got.Message == "" {
		t.Error("an unknown error gets no message")
	}
}

// TestTokensFollowAlterSecretAndRotation: a token minted after ALTER
// SECRET is signed with the new keys; key rotation changes nothing a
// token needs (no STS call, same session).
func TestTokensFollowAlterSecretAndRotation(t *testing.T) {
	ctx := context.Background()
	w := newTokenWorld(t)
	const userA, userB = "arn:aws:iam::123456789012:user/writer-a", "arn:aws:iam::123456789012:user/writer-b"
	keyA, secretA := w.fake.AddUser(userA)
	keyB, secretB := w.fake.AddUser(userB)
	mustExec(t, w.cat, `CREATE SECRET ak AS '`+keyA+`'; CREATE SECRET sk AS '`+secretA+`';
		CREATE CONNECTION keys TO AWS (ACCESS KEY ID = SECRET ak, SECRET ACCESS KEY = SECRET sk, REGION = 'eu-west-1')`)
	signer := func(name string) string {
		t.Helper()
		tok, err := w.cat.RDSAuthToken(ctx, name, dbEndpoint, dbUser)
		if err != nil {
			t.Fatal(err)
		}
		p, err := w.fake.VerifyRDSAuthToken(tok.Value(), dbEndpoint, "eu-west-1", dbUser)
		if err != nil {
			t.Fatal(err)
		}
		return p.Caller.ARN
	}
	if got := signer("keys"); got != userA {
		t.Fatalf("signed by %s, want %s", got, userA)
	}
	mustExec(t, w.cat, `ALTER SECRET ak AS '`+keyB+`'; ALTER SECRET sk AS '`+secretB+`'`)
	if got := signer("keys"); got != userB {
		t.Errorf("after ALTER SECRET signed by %s, want %s", got, userB)
	}
	before := signer("r")
	if err := w.cat.RotateKey(ctx, conncat.StaticKey([]byte("conncat-test-key-rotated-tokens1"))); err != nil {
		t.Fatal(err)
	}
	if got := signer("r"); got != before || w.fake.Calls("AssumeRole") != 1 {
		t.Errorf("after key rotation signed by %s (was %s), %d AssumeRole calls", got, before, w.fake.Calls("AssumeRole"))
	}
}

// TestExplainConncatErrors: conncat's own errors keep their SQLSTATE as
// the code; only those that retrying can clear are retryable.
func TestExplainConncatErrors(t *testing.T) {
	ctx := context.Background()
	w := newTokenWorld(t)
	_, err := w.cat.AWSConfig(ctx, "nope")
	if got := conncat.Explain(err); got.Code != conncat.CodeUndefinedObject || got.Retryable || !strings.Contains(got.Message, `"nope"`) {
		t.Errorf("missing connection: %+v", got)
	}
	busy := &conncat.Error{Code: conncat.CodeLockNotAvailable, Message: "could not obtain the catalog's lock"}
	if got := conncat.Explain(fmt.Errorf("wrapped: %w", busy)); got.Code != conncat.CodeLockNotAvailable || !got.Retryable {
		t.Errorf("lock not available: %+v", got)
	}
	w.cat.Close()
	if _, err := w.cat.MSKAuthToken(ctx, "r"); conncat.Explain(err).Code != conncat.CodeConnectionDoesNotExist || conncat.Explain(err).Retryable {
		t.Errorf("closed catalog: %+v", conncat.Explain(err))
	}
}

// TestTokensUnderLoad: many goroutines minting tokens at once share one
// AssumeRole, and every token verifies.
func TestTokensUnderLoad(t *testing.T) {
	ctx := context.Background()
	w := newTokenWorld(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			if i%2 == 0 {
				tok, err := w.cat.MSKAuthToken(ctx, "r")
				if err == nil {
					_, err = w.fake.VerifyMSKAuthToken(tok.Value(), "eu-west-1")
				}
				errs <- err
				return
			}
			tok, err := w.cat.RDSAuthToken(ctx, "r", dbEndpoint, dbUser)
			if err == nil {
				_, err = w.fake.VerifyRDSAuthToken(tok.Value(), dbEndpoint, "eu-west-1", dbUser)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.fake.Calls("AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls for 64 concurrent tokens, want 1", n)
	}
}

// TestTokensFollowNamesWithoutReading: tokens keep their name's config,
// so steady-state tokens read no catalog (proven by minting with the
// catalog's database stopped), yet every change of the name's connection
// reaches them: DROP is 42704 at once on the node that dropped it and,
// through the change feed, on the others; a RENAME frees the old name.
func TestTokensFollowNamesWithoutReading(t *testing.T) { forEachBackend(t, testTokensFollowNames) }

func testTokensFollowNames(t *testing.T, backend string) {
	p := newPlace(t, backend)
	nodeA, nodeB := p.open(t), p.open(t)
	ctx := context.Background()
	mustExec(t, nodeA, `CREATE SECRET sk AS 'fake-token-secret';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKETOKENS', SECRET ACCESS KEY = SECRET sk, REGION = 'eu-west-1')`)
	mint := func(cat *conncat.Catalog, name string) error {
		_, err := cat.MSKAuthToken(ctx, name)
		return err
	}
	for _, cat := range []*conncat.Catalog{nodeA, nodeB} {
		if err := mint(cat, "k"); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, nodeA, `DROP CONNECTION k`)
	var e *conncat.Error
	if err := mint(nodeA, "k"); !errors.As(err, &e) || e.Code != conncat.CodeUndefinedObject {
		t.Fatalf("%s: a token for k right after DROP on the same node: %v", backend, err)
	}
	eventually(t, "DROP on another node reaching its tokens", func() bool { return mint(nodeB, "k") != nil })
	if err := mint(nodeB, "k"); !errors.As(err, &e) || e.Code != conncat.CodeUndefinedObject {
		t.Fatalf("%s: after DROP on another node: %v", backend, err)
	}

	mustExec(t, nodeA, `CREATE CONNECTION old_name TO AWS (ACCESS KEY ID = 'AKIAFAKETOKENS', SECRET ACCESS KEY = SECRET sk)`)
	if err := mint(nodeA, "old_name"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, nodeA, `ALTER CONNECTION old_name RENAME TO new_name`)
	if err := mint(nodeA, "old_name"); !errors.As(err, &e) || e.Code != conncat.CodeUndefinedObject {
		t.Fatalf("%s: a token for a renamed connection's old name: %v", backend, err)
	}
	if err := mint(nodeA, "new_name"); err != nil {
		t.Fatal(err)
	}
}

// TestTokensNeedNoCatalog: once a name's config is kept, minting reads no
// catalog: tokens keep coming with the catalog's database stopped.
func TestTokensNeedNoCatalog(t *testing.T) {
	cluster, err := testenv.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	ctx := context.Background()
	cat, err := conncat.Open(ctx, cluster.URL+"&connect_timeout=2", conncat.WithSchema("tokens"), conncat.WithKeyFile(filepath.Join(t.TempDir(), "k")))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	mustExec(t, cat, `CREATE SECRET sk AS 'fake-token-secret';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKETOKENS', SECRET ACCESS KEY = SECRET sk, REGION = 'eu-west-1')`)
	if _, err := cat.RDSAuthToken(ctx, "k", "db.example.internal:5432", "app"); err != nil {
		t.Fatal(err)
	}
	cluster.Stop()
	for range 3 {
		if _, err := cat.RDSAuthToken(ctx, "k", "db.example.internal:5432", "app"); err != nil {
			t.Fatalf("a token with the catalog's database stopped: %v", err)
		}
	}
}
