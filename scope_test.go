package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/connection"
)

// scopeWorld is an engine user whose catalog has an AWS connection to the
// customer's role (trusting the pasted policy) and two S3 connections on it.
func scopeWorld(t *testing.T, opts ...conncat.Option) (*awstest.STS, *conncat.Catalog) {
	t.Helper()
	fake, cat := roleWorld(t, opts...)
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`');
		CREATE CONNECTION lake TO S3 (PREFIX = 's3://exports/team-a/') USING AWS CONNECTION aws_conn;
		CREATE CONNECTION other TO S3 (PREFIX = 's3://exports/team-b/') USING AWS CONNECTION aws_conn`)
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cat, "aws_conn")); err != nil {
		t.Fatal(err)
	}
	return fake, cat
}

// roleWorld is an engine user in a fake STS and a catalog, opened with
// opts, whose principal it is.
func roleWorld(t *testing.T, opts ...conncat.Option) (*awstest.STS, *conncat.Catalog) {
	t.Helper()
	fake := awstest.NewSTS()
	t.Cleanup(fake.Close)
	key, secret := fake.AddUser(engineUser)
	return fake, openTest(t, append([]conncat.Option{conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret))}, opts...)...)
}

// retrieveFor gets the credentials of a config made for connection name.
func retrieveFor(t *testing.T, cat *conncat.Catalog, ctx context.Context, name string) aws.Credentials {
	t.Helper()
	cfg, err := cat.AWSConfig(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return creds
}

// policiesSent are the session policies of the AssumeRole calls so far.
func policiesSent(fake *awstest.STS) []string {
	var out []string
	for _, r := range fake.AssumeRoleRequests() {
		out = append(out, r.Policy)
	}
	return out
}

// TestS3CredentialsAreScopedToThePrefix: an S3 connection's credentials
// come from a session whose policy grants exactly its permission policy;
// one STS call per S3 connection per refresh, whatever the configs; its
// AWS connection used directly stays unscoped; ALTER of the prefix
// changes the policy; the status table shows the packed size.
func TestS3CredentialsAreScopedToThePrefix(t *testing.T) {
	fake, cat := scopeWorld(t)
	ctx := context.Background()
	lake := retrieveFor(t, cat, ctx, "lake")
	retrieveFor(t, cat, ctx, "lake")
	loc, err := cat.S3Location(ctx, "lake")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := loc.Client.Options().Credentials.Retrieve(ctx); err != nil || c.AccessKeyID != lake.AccessKeyID {
		t.Fatalf("S3Location's client does not use the scoped session: %v", err)
	}
	unscoped := retrieveFor(t, cat, ctx, "aws_conn")
	retrieveFor(t, cat, ctx, "other")
	want := []string{
		connection.SessionPolicy("aws", "exports", "team-a/"),
		"", // the AWS connection used directly
		connection.SessionPolicy("aws", "exports", "team-b/"),
	}
	if got := policiesSent(fake); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("session policies sent:\n%q\nwant\n%q", got, want)
	}
	if unscoped.AccessKeyID == lake.AccessKeyID {
		t.Fatal("the AWS connection shares the S3 connection's scoped session")
	}
	res := mustExec(t, cat, `SELECT c.name, s.packed_policy_size FROM mz_connections c JOIN mz_aws_connection_statuses s ON s.id = c.id ORDER BY c.name`)[0]
	if got := fmt.Sprint(res.Rows); !strings.HasPrefix(got, "[[aws_conn <nil>] [lake ") || strings.Contains(got, "[lake <nil>]") {
		t.Fatalf("statuses: %s", got)
	}

	mustExec(t, cat, `ALTER CONNECTION lake SET (PREFIX = 's3://exports/team-c/')`)
	retrieveFor(t, cat, ctx, "lake")
	if got := policiesSent(fake); len(got) != 4 || got[3] != connection.SessionPolicy("aws", "exports", "team-c/") {
		t.Fatalf("after ALTER of the prefix: %q", got)
	}
	mustExec(t, cat, `ALTER CONNECTION aws_conn SET (REGION = 'eu-west-1')`)
	retrieveFor(t, cat, ctx, "lake")
	if got := policiesSent(fake); len(got) != 5 || got[4] != connection.SessionPolicy("aws", "exports", "team-c/") {
		t.Fatalf("after ALTER of the AWS connection, the S3 connection's session: %q", got)
	}
}

// TestStaticKeysAreNotScoped: an S3 connection over static keys uses them
// as they are (no session can narrow them), with no STS call.
func TestStaticKeysAreNotScoped(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	cat := openTest(t)
	mustExec(t, cat, `CREATE SECRET sk AS 'fake-static-secret';
		CREATE CONNECTION keys TO AWS (ACCESS KEY ID = 'AKIAFAKESCOPE', SECRET ACCESS KEY = SECRET sk);
		CREATE CONNECTION lake TO S3 (PREFIX = 's3://exports/a/') USING AWS CONNECTION keys`)
	if c := retrieveFor(t, cat, context.Background(), "lake"); c.AccessKeyID != "AKIAFAKESCOPE" {
		t.Fatalf("static keys: %s", c.AccessKeyID)
	}
	if len(fake.AssumeRoleRequests()) != 0 {
		t.Fatal("static keys made an STS call")
	}
}

// TestPrefixTooLongForASessionPolicy: CREATE refuses a prefix whose
// session policy AssumeRole would refuse, saying by how much, and creates
// nothing.
func TestPrefixTooLongForASessionPolicy(t *testing.T) {
	cat := openTest(t)
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	prefix := strings.Repeat("deep/", 170)
	_, err := cat.Exec(context.Background(), `CREATE CONNECTION lake TO S3 (PREFIX = 's3://exports/`+prefix+`') USING AWS CONNECTION aws_conn`)
	var e *conncat.Error
	if !errors.As(err, &e) || e.Code != "22023" || !strings.Contains(e.Message, "2048") || !strings.Contains(e.Hint, "Shorten the prefix by at least") {
		t.Fatalf("a prefix too long for a session policy: %v", err)
	}
	if n := mustExec(t, cat, `SELECT count(*) FROM mz_connections`)[0].Rows[0][0]; n != int64(1) {
		t.Fatalf("%v connections after the refused CREATE", n)
	}
}

// TestS3ConfigScopedAfterKeysBecomeARole: a config of an S3 connection
// made while its AWS connection had static keys is scoped to the prefix
// once an ALTER gives the AWS connection a role.
func TestS3ConfigScopedAfterKeysBecomeARole(t *testing.T) {
	fake, cat := roleWorld(t)
	ctx := context.Background()
	mustExec(t, cat, `CREATE SECRET sk AS 'fake-static-secret';
		CREATE CONNECTION aws_conn TO AWS (ACCESS KEY ID = 'AKIAFAKESCOPE', SECRET ACCESS KEY = SECRET sk);
		CREATE CONNECTION lake TO S3 (PREFIX = 's3://exports/team-a/') USING AWS CONNECTION aws_conn`)
	cfg, err := cat.AWSConfig(ctx, "lake")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfg.Credentials.Retrieve(ctx); err != nil || c.AccessKeyID != "AKIAFAKESCOPE" {
		t.Fatalf("static keys: %v", err)
	}
	mustExec(t, cat, `ALTER CONNECTION aws_conn DROP (ACCESS KEY ID, SECRET ACCESS KEY), SET (ASSUME ROLE ARN = '`+customerRole+`')`)
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cat, "aws_conn")); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	if got := policiesSent(fake); len(got) != 1 || got[0] != connection.SessionPolicy("aws", "exports", "team-a/") {
		t.Fatalf("the S3 config's session after the ALTER: %q", got)
	}
}
