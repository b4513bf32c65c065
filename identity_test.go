package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

// TestSessionIdentitySaysWhoAsked: with session identity on, each
// session in the customer's role carries the engine role that asked (or
// the catalog's fallback) as its SourceIdentity and in session tags, one
// cached session per connection and role; the trust policy shown allows
// the two actions AWS requires for that.
func TestSessionIdentitySaysWhoAsked(t *testing.T) {
	fake, cat := roleWorld(t, conncat.WithSessionIdentity("engine"))
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	trust := pastedTrustPolicy(t, cat, "aws_conn")
	if !strings.Contains(trust, "sts:SetSourceIdentity") || !strings.Contains(trust, "sts:TagSession") {
		t.Fatalf("trust policy without the identity actions:\n%s", trust)
	}
	if err := fake.AddRole(customerRole, trust); err != nil {
		t.Fatal(err)
	}
	mustExec(t, cat, `GRANT USAGE ON CONNECTION aws_conn TO alice; GRANT USAGE ON CONNECTION aws_conn TO "bob.smith@example"`)
	alice := conncat.WithRole(context.Background(), "alice")
	retrieveFor(t, cat, alice, "aws_conn")
	retrieveFor(t, cat, alice, "aws_conn")
	retrieveFor(t, cat, conncat.WithRole(context.Background(), "bob.smith@example"), "aws_conn")
	retrieveFor(t, cat, context.Background(), "aws_conn")
	var got []string
	for _, r := range fake.AssumeRoleRequests() {
		got = append(got, fmt.Sprintf("%s %s %s %s", r.SourceIdentity, r.Tags["conncat:role"], r.Tags["conncat:connection"], r.Tags["conncat:catalog"]))
	}
	want := []string{"alice alice u1 prod", "bob.smith@example bob.smith@example u1 prod", "engine engine u1 prod"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sessions:\n%q\nwant\n%q", got, want)
	}
	res := mustExec(t, cat, `SELECT role, status FROM mz_aws_connection_statuses ORDER BY role`)[0]
	if fmt.Sprint(res.Rows) != "[[alice fresh] [bob.smith@example fresh] [engine fresh]]" {
		t.Fatalf("status rows: %v", res.Rows)
	}
}

// TestRoleThatRefusesIdentity: a role whose trust policy allows only
// sts:AssumeRole refuses sessions with an identity; the data plane's error
// and VALIDATE both say which two actions to add.
func TestRoleThatRefusesIdentity(t *testing.T) {
	fake, cat := roleWorld(t, conncat.WithSessionIdentity("engine"))
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	old := regexp.MustCompile(`"Action": \[[^\]]*\]`).ReplaceAllString(pastedTrustPolicy(t, cat, "aws_conn"), `"Action": "sts:AssumeRole"`)
	if err := fake.AddRole(customerRole, old); err != nil {
		t.Fatal(err)
	}
	cfg, err := cat.AWSConfig(context.Background(), "aws_conn")
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	if e := conncat.Explain(err); !strings.Contains(e.Hint, `"sts:SetSourceIdentity" and "sts:TagSession"`) {
		t.Fatalf("Explain of the refusal: %+v (%v)", e, err)
	}
	_, err = cat.Exec(context.Background(), `VALIDATE CONNECTION aws_conn`)
	var ce *conncat.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Error()+ce.Detail+ce.Hint, "sts:TagSession") {
		t.Fatalf("VALIDATE of a role refusing identity: %v", err)
	}
}

// TestSessionIdentityIsTheCatalogs: turning it on rewrites the stored
// trust policies; a node opened without it follows the catalog, and one
// given another fallback is refused.
func TestSessionIdentityIsTheCatalogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prod.db")
	open := func(opts ...conncat.Option) (*conncat.Catalog, error) {
		return conncat.Open(context.Background(), path, append([]conncat.Option{conncat.WithPrincipal(engineUser)}, opts...)...)
	}
	first, err := open()
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, first, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	first.Close()
	on, err := open(conncat.WithSessionIdentity("engine"))
	if err != nil {
		t.Fatal(err)
	}
	stored := mustExec(t, on, `SELECT example_trust_policy FROM mz_aws_connections`)[0].Rows[0][0].(string)
	on.Close()
	if !strings.Contains(stored, "sts:TagSession") {
		t.Fatalf("stored trust policy not rewritten: %s", stored)
	}
	follower, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pastedTrustPolicy(t, follower, "aws_conn"), "sts:SetSourceIdentity") {
		t.Fatal("a node opened without the option does not follow the catalog")
	}
	follower.Close()
	_, err = open(conncat.WithSessionIdentity("other"))
	var ce *conncat.Error
	if !errors.As(err, &ce) || ce.Code != "55000" || !strings.Contains(ce.Message, `"engine"`) {
		t.Fatalf("another fallback: %v", err)
	}
	if _, err := open(conncat.WithSessionIdentity("aws:x")); err == nil {
		t.Fatal("an invalid fallback was accepted")
	}
}

// TestAuditOfScopedUse: the audit event of a session says which S3
// connection's prefix scoped it and, with session identity, who asked.
func TestAuditOfScopedUse(t *testing.T) {
	fake, cat := scopeWorld(t, conncat.WithSessionIdentity("engine"), conncat.WithUseAudit(time.Hour))
	if err := fake.SetTrustPolicy(customerRole, pastedTrustPolicy(t, cat, "aws_conn")); err != nil {
		t.Fatal(err)
	}
	mustExec(t, cat, `GRANT USAGE ON CONNECTION lake TO alice`)
	retrieveFor(t, cat, conncat.WithRole(context.Background(), "alice"), "lake")
	query := `SELECT "user", json_extract(details, '$.scoped_to'), json_extract(details, '$.source_identity') FROM mz_audit_events WHERE event_type = 'assume_role'`
	var got string
	testenv.Eventually(t, "the assume_role event written", func() bool {
		got = fmt.Sprint(mustExec(t, cat, query)[0].Rows)
		return got != "[]"
	})
	lake := mustExec(t, cat, `SELECT id FROM mz_connections WHERE name = 'lake'`)[0].Rows[0][0]
	if want := fmt.Sprintf("[[alice %s alice]]", lake); got != want {
		t.Fatalf("assume_role events: %s, want %s", got, want)
	}
}

// TestPackedPolicyTooLarge: a session policy near AssumeRole's limit plus
// the identity's tags can pass the packed limit; the refusal reaches the
// data plane's caller explained, with where to look.
func TestPackedPolicyTooLarge(t *testing.T) {
	fake, cat := roleWorld(t, conncat.WithSessionIdentity("engine"))
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cat, "aws_conn")); err != nil {
		t.Fatal(err)
	}
	prefix := strings.Repeat("deep/", 150) // a session policy of ~1,950 characters: fits alone
	mustExec(t, cat, `CREATE CONNECTION lake TO S3 (PREFIX = 's3://exports/`+prefix+`') USING AWS CONNECTION aws_conn`)
	mustExec(t, cat, `GRANT USAGE ON CONNECTION lake TO `+conncat.QuoteIdent(strings.Repeat("r", 200)))
	cfg, err := cat.AWSConfig(conncat.WithRole(context.Background(), strings.Repeat("r", 200)), "lake")
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	if e := conncat.Explain(err); e.Code != "PackedPolicyTooLarge" || !strings.Contains(e.Hint, "packed_policy_size") {
		t.Fatalf("a session over the packed limit: %+v (%v)", e, err)
	}
	// Without the long role in the tags it fits: the policy alone is fine.
	if _, err := retrieveOK(cat, "lake"); err != nil {
		t.Fatalf("the same connection for the fallback identity: %v", err)
	}
}

func retrieveOK(cat *conncat.Catalog, name string) (any, error) {
	cfg, err := cat.AWSConfig(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return cfg.Credentials.Retrieve(context.Background())
}
