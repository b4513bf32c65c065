package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/connection"
)

const (
	engineUser   = "arn:aws:iam::210987654321:user/conncat-engine"
	jumpRole     = "arn:aws:iam::210987654321:role/conncat-jump"
	customerRole = "arn:aws:iam::123456789012:role/CustomerWriter"
)

func openTest(t testing.TB, opts ...conncat.Option) *conncat.Catalog {
	t.Helper()
	cat, err := conncat.Open(context.Background(), filepath.Join(t.TempDir(), "prod.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

func mustExec(t testing.TB, cat *conncat.Catalog, sql string) []*conncat.Result {
	t.Helper()
	res, err := cat.Exec(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return res
}

// pastedTrustPolicy is what the customer pastes into the role: the trust
// policy conncat prints for the connection, exactly.
func pastedTrustPolicy(t testing.TB, cat *conncat.Catalog, name string) string {
	t.Helper()
	return mustExec(t, cat, `SHOW TRUST POLICY FOR CONNECTION `+name)[0].Rows[0][2].(string)
}

func whoAmI(t testing.TB, cfg aws.Config) string {
	t.Helper()
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Arn)
}

// The Materialize/Confluent model: the engine's principal is a jump role;
// its session assumes the customer's role with the external ID.
func TestAWSConfigTwoHopsThroughJumpRole(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	ambient := fake.Config(key, secret)
	cat := openTest(t, conncat.WithPrincipal(jumpRole), conncat.WithAWSConfig(ambient))
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`', REGION = 'eu-west-1')`)
	if err := fake.AddRole(jumpRole, `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "`+engineUser+`"}, "Action": "sts:AssumeRole"}]}`); err != nil {
		t.Fatal(err)
	}
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cat, "aws_conn")); err != nil {
		t.Fatal(err)
	}
	cfg, err := cat.AWSConfig(context.Background(), "aws_conn")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q", cfg.Region)
	}
	// The default session name says which catalog and connection acted.
	if got, want := whoAmI(t, cfg), "arn:aws:sts::123456789012:assumed-role/CustomerWriter/conncat-prod-u1"; got != want {
		t.Fatalf("identity %s, want %s", got, want)
	}
	if fake.Assumed(jumpRole) != 1 || fake.Assumed(customerRole) != 1 {
		t.Fatalf("sessions: jump %d, customer %d", fake.Assumed(jumpRole), fake.Assumed(customerRole))
	}
	// A second config for the same connection shares the cached session.
	cfg2, _ := cat.AWSConfig(context.Background(), "aws_conn")
	whoAmI(t, cfg2)
	if fake.Assumed(customerRole) != 1 {
		t.Fatalf("customer role assumed %d times; configs must share credentials", fake.Assumed(customerRole))
	}
}

// A request made after ALTER SECRET signs with the new key, through a
// config handed out before the ALTER; after DROP the config fails.
func TestAWSConfigFollowsAlterSecretAndDrop(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	keyA, secretA := fake.AddUser("arn:aws:iam::123456789012:user/writer-a")
	keyB, secretB := fake.AddUser("arn:aws:iam::123456789012:user/writer-b")
	cat := openTest(t)
	mustExec(t, cat, fmt.Sprintf(`
		CREATE SECRET key_id AS '%s';
		CREATE SECRET key_secret AS '%s';
		CREATE CONNECTION keys TO AWS (ACCESS KEY ID = SECRET key_id, SECRET ACCESS KEY = SECRET key_secret, ENDPOINT = '%s')`,
		keyA, secretA, fake.URL))
	cfg, err := cat.AWSConfig(context.Background(), "keys")
	if err != nil {
		t.Fatal(err)
	}
	if got := whoAmI(t, cfg); !strings.HasSuffix(got, "user/writer-a") {
		t.Fatalf("before ALTER: %s", got)
	}
	mustExec(t, cat, fmt.Sprintf(`ALTER SECRET key_id AS '%s'; ALTER SECRET key_secret AS '%s'`, keyB, secretB))
	if got := whoAmI(t, cfg); !strings.HasSuffix(got, "user/writer-b") {
		t.Fatalf("after ALTER SECRET the old config signs as %s", got)
	}
	// RENAME keeps the connection (and its ID) working.
	mustExec(t, cat, `ALTER CONNECTION keys RENAME TO keys2`)
	whoAmI(t, cfg)

	mustExec(t, cat, `DROP CONNECTION keys2`)
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var e *conncat.Error
	if !errors.As(err, &e) || e.Code != "42704" || !strings.Contains(e.Message, "no longer exists") {
		t.Fatalf("after DROP: %v", err)
	}
}

// ALTER CONNECTION to another role takes effect on the next request.
func TestAWSConfigFollowsAlterConnection(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)))
	mustExec(t, cat, `CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	policy := pastedTrustPolicy(t, cat, "c")
	other := "arn:aws:iam::123456789012:role/Other"
	for _, r := range []string{customerRole, other} {
		if err := fake.AddRole(r, policy); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _ := cat.AWSConfig(context.Background(), "c")
	if got := whoAmI(t, cfg); !strings.Contains(got, "assumed-role/CustomerWriter/") {
		t.Fatal(got)
	}
	mustExec(t, cat, `ALTER CONNECTION c SET (ASSUME ROLE ARN = '`+other+`')`)
	if got := whoAmI(t, cfg); !strings.Contains(got, "assumed-role/Other/") {
		t.Fatalf("after ALTER: %s", got)
	}
}

// At expiry, 10,000 goroutines asking at once cause exactly one AssumeRole
// per connection at the STS server.
func TestOneAssumeRolePerConnectionUnderLoad(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	fake.SetClock(clock)
	fake.SetLatency(20 * time.Millisecond) // keep the refresh in flight while callers pile up
	key, secret := fake.AddUser(engineUser)
	cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)),
		conncat.WithCredentialCache(awscreds.CacheOptions{Now: clock}))
	roles := []string{customerRole, "arn:aws:iam::123456789012:role/Second"}
	var providers []aws.CredentialsProvider
	for i, r := range roles {
		name := fmt.Sprintf("c%d", i)
		mustExec(t, cat, `CREATE CONNECTION `+name+` TO AWS (ASSUME ROLE ARN = '`+r+`')`)
		if err := fake.AddRole(r, pastedTrustPolicy(t, cat, name)); err != nil {
			t.Fatal(err)
		}
		cfg, err := cat.AWSConfig(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		providers = append(providers, cfg.Credentials)
	}
	ask := func() {
		var wg sync.WaitGroup
		errs := make(chan error, 10000)
		for i := range 10000 {
			wg.Go(func() {
				if _, err := providers[i%len(providers)].Retrieve(context.Background()); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	ask()
	for _, r := range roles {
		if n := fake.Assumed(r); n != 1 {
			t.Fatalf("first use: %s assumed %d times", r, n)
		}
	}
	mu.Lock()
	now = now.Add(time.Hour) // every session has expired
	mu.Unlock()
	ask()
	for _, r := range roles {
		if n := fake.Assumed(r); n != 2 {
			t.Fatalf("at expiry: %s assumed %d times in total, want 2", r, n)
		}
	}
}

func TestS3Location(t *testing.T) {
	cat := openTest(t)
	mustExec(t, cat, `
		CREATE SECRET sk AS 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
		CREATE CONNECTION a TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, ENDPOINT = 'http://127.0.0.1:9', REGION = 'minio');
		CREATE CONNECTION s TO S3 (PREFIX = 's3://exports/tenant-1/') USING AWS CONNECTION a`)
	loc, err := cat.S3Location(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if loc.Bucket != "exports" || loc.Prefix != "tenant-1/" || !loc.Client.Options().UsePathStyle || loc.Client.Options().Region != "minio" {
		t.Fatalf("location %+v", loc)
	}
	longest := strings.Repeat("k", 1024-len("tenant-1/"))
	for name, want := range map[string]string{"a.parquet": "tenant-1/a.parquet", "2026/11/part-0": "tenant-1/2026/11/part-0",
		"dir/": "tenant-1/dir/", "é ü.csv": "tenant-1/é ü.csv", longest: "tenant-1/" + longest} {
		if got, err := loc.Key(name); err != nil || got != want {
			t.Errorf("Key(%q) = %q, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "/etc/passwd", "../tenant-2/x", "a/../../b", "./a", "a/.",
		`..\tenant-2\x`, "a\x00b", "a\x1b[2Jb", "a\u0085b", "\xff", "a//b", strings.Repeat("k", 1024-len("tenant-1/")+1)} {
		if _, err := loc.Key(bad); !errors.Is(err, conncat.ErrOutsidePrefix) {
			t.Errorf("Key(%q) = %v, want ErrOutsidePrefix", bad, err)
		}
	}
	if !loc.Contains("tenant-1/x") || loc.Contains("tenant-10/x") || loc.Contains("tenant-1/") || loc.Contains("tenant-1/../x") {
		t.Error("Contains")
	}
	_, err = cat.S3Location(context.Background(), "a")
	var e *conncat.Error
	if !errors.As(err, &e) || e.Code != "42809" {
		t.Fatalf("S3Location of an AWS connection: %v", err)
	}
}

func TestPublicAddressesOnly(t *testing.T) {
	fake := awstest.NewSTS() // listens on 127.0.0.1
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	path := filepath.Join(t.TempDir(), "prod.db")
	ctx := context.Background()

	// With the option, DDL refuses the loopback endpoint outright...
	strict, err := conncat.Open(ctx, path, conncat.WithPublicAddressesOnly(), conncat.WithAWSConfig(fake.Config(key, secret)))
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	mustExec(t, strict, fmt.Sprintf(`CREATE SECRET sk AS '%s'`, secret))
	create := fmt.Sprintf(`CREATE CONNECTION c TO AWS (ACCESS KEY ID = '%s', SECRET ACCESS KEY = SECRET sk, ENDPOINT = '%s')`, key, fake.URL)
	var e *conncat.Error
	if _, err := strict.Exec(ctx, create); !errors.As(err, &e) || e.Code != "22023" || !strings.Contains(e.Message, "loopback") {
		t.Fatalf("DDL with a loopback endpoint: %v", err)
	}
	// ...and a row written without it (an older engine, another process)
	// is still refused when dialled, after DNS, before any byte is sent.
	lax, err := conncat.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer lax.Close()
	mustExec(t, lax, create)
	cfg, err := strict.AWSConfig(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var blocked *connection.BlockedAddressError
	if !errors.As(err, &blocked) || blocked.Reason != "loopback" {
		t.Fatalf("want the loopback endpoint refused, got %v", err)
	}
	if fake.Calls("GetCallerIdentity") != 0 {
		t.Fatal("the request reached the server")
	}
	// An environment proxy would be the address the guard judges, with
	// the tenant's endpoint behind it: a guarded catalog uses none.
	client, ok := cfg.HTTPClient.(*http.Client)
	if !ok {
		t.Fatalf("HTTP client %T", cfg.HTTPClient)
	}
	if tr, ok := client.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Fatalf("a guarded catalog's transport honours HTTP(S)_PROXY: %T", client.Transport)
	}
}

// TestNoRedirectFollowed: an endpoint that answers a signed request with a
// redirect to another host gets nothing more; the other host never sees
// the request or its signature.
func TestNoRedirectFollowed(t *testing.T) {
	const key, secret = "AKIAIOSFODNN7EXAMPLE", "fake-secret-key-for-redirect-test"
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusForbidden)
	}))
	defer other.Close()
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, code)
		}))
		cat := openTest(t, conncat.WithPlainHTTPEndpoints())
		mustExec(t, cat, fmt.Sprintf(`CREATE SECRET sk AS '%s';
			CREATE CONNECTION c TO AWS (ACCESS KEY ID = '%s', SECRET ACCESS KEY = SECRET sk, ENDPOINT = '%s', REGION = 'us-east-1');
			CREATE CONNECTION s TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION c`, secret, key, redirector.URL))
		loc, err := cat.S3Location(context.Background(), "s")
		if err != nil {
			t.Fatal(err)
		}
		// A GET, which the HTTP client could re-send without a body.
		if _, err := loc.Client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String("p/x")}); err == nil {
			t.Errorf("%d: the call succeeded through a redirect", code)
		}
		redirector.Close()
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("a redirect was followed %d times: the other host got signed requests", n)
	}
}

// A tenant's STS ENDPOINT receives the customer hop only: the hop into the
// engine's principal (signed with the engine's own key, which a server
// could replay at STS) always goes where the engine's configuration points,
// for the data plane and for VALIDATE alike.
func TestJumpHopNeverGoesToTenantEndpoint(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	if err := fake.AddRole(jumpRole, `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "`+engineUser+`"}, "Action": "sts:AssumeRole"}]}`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string // Authorization headers the tenant's server received
	tenant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusForbidden)
	}))
	defer tenant.Close()

	cat := openTest(t, conncat.WithPrincipal(jumpRole), conncat.WithAWSConfig(fake.Config(key, secret)), conncat.WithPlainHTTPEndpoints())
	mustExec(t, cat, `CREATE CONNECTION evil TO AWS (ASSUME ROLE ARN = '`+customerRole+`', STS ENDPOINT = '`+tenant.URL+`')`)
	cfg, err := cat.AWSConfig(context.Background(), "evil")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil {
		t.Fatal("the tenant's server refused every call, yet credentials came back")
	}
	if _, err := cat.Exec(context.Background(), `VALIDATE CONNECTION evil`); err == nil {
		t.Fatal("VALIDATE passed though the tenant's server refused every call")
	}
	if n := fake.Assumed(jumpRole); n != 2 {
		t.Errorf("jump role assumed %d times at the engine's STS, want 2 (data plane and VALIDATE)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("the customer hop never reached the connection's STS ENDPOINT")
	}
	for _, auth := range seen {
		if strings.Contains(auth, "Credential="+key+"/") {
			t.Fatalf("the tenant's server got a request signed with the engine's own key: %s", auth)
		}
	}
}

// TestDescribe: Describe gives what SHOW TRUST POLICY and SHOW PERMISSION
// POLICY show, typed, and never a secret; an unknown name is 42704.
func TestDescribe(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	cat := openTest(t, conncat.WithPrincipal(jumpRole))
	ctx := context.Background()
	mustExec(t, cat, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`', REGION = 'eu-west-1');
		CREATE CONNECTION s TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION r;
		CREATE SECRET sk AS '`+secret+`';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = 'inline-token-value')`)
	r, err := cat.Describe(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	trust := mustExec(t, cat, `SHOW TRUST POLICY FOR CONNECTION r`)[0].Rows[0]
	if r.Principal != trust[0] || r.ExternalID != trust[1] || r.TrustPolicy != trust[2] || r.Region != "eu-west-1" || r.StaticKeys {
		t.Fatalf("described %+v\nSHOW TRUST POLICY %v", r, trust)
	}
	s, err := cat.Describe(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	permission := mustExec(t, cat, `SHOW PERMISSION POLICY FOR CONNECTION s`)[0].Rows[0][0]
	if s.AWSConnection != "r" || s.Bucket != "bucket" || s.Prefix != "p/" || s.PermissionPolicy != permission || s.ExternalID != r.ExternalID {
		t.Fatalf("described %+v", s)
	}
	k, err := cat.Describe(ctx, "k")
	if err != nil || !k.StaticKeys || k.ExternalID != "" {
		t.Fatalf("described %+v, %v", k, err)
	}
	if got := fmt.Sprint(k.Options); got != "[{ACCESS KEY ID 'AKIAIOSFODNN7EXAMPLE'} {SECRET ACCESS KEY SECRET sk} {SESSION TOKEN '<redacted>'}]" {
		t.Errorf("options of k: %s", got)
	}
	if got := fmt.Sprint(r.Options); got != "[{ASSUME ROLE ARN '"+customerRole+"'} {REGION 'eu-west-1'}]" {
		t.Errorf("options of r: %s", got)
	}
	if printed := fmt.Sprintf("%+v %#v", k, k); strings.Contains(printed, secret) || strings.Contains(printed, "inline-token-value") {
		t.Fatalf("a description holds a secret: %s", printed)
	}
	_, err = cat.Describe(ctx, "nosuch")
	var e *conncat.Error
	if !errors.As(err, &e) || e.Code != "42704" {
		t.Fatalf("unknown connection: %v", err)
	}
}

// TestWithNameNamesTheSessions: WithName is the catalog name in default
// session names (CloudTrail shows which engine acted), instead of the
// file's base name.
func TestWithNameNamesTheSessions(t *testing.T) {
	fake, cat := roleWorld(t, conncat.WithName("etl-eu"))
	mustExec(t, cat, `CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cat, "c")); err != nil {
		t.Fatal(err)
	}
	cfg, err := cat.AWSConfig(context.Background(), "c")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := whoAmI(t, cfg), "arn:aws:sts::123456789012:assumed-role/CustomerWriter/conncat-etl-eu-u1"; got != want {
		t.Fatalf("identity %s, want %s", got, want)
	}
}
