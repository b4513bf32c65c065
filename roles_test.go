package conncat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/internal/testenv"
)

// TestDataPlaneNeedsUsage: a role gets a config or an S3 location only for
// a connection it owns or was granted USAGE on; without a role an engine
// acts as a superuser, as before roles.
func TestDataPlaneNeedsUsage(t *testing.T) {
	cat := openTest(t, conncat.WithSuperusers("admin"))
	alice := conncat.WithRole(context.Background(), "alice")
	bob := conncat.WithRole(context.Background(), "bob")
	if _, err := cat.Exec(alice, `CREATE SECRET k AS 'fake-secret-value';
		CREATE CONNECTION a TO AWS (ACCESS KEY ID = 'AKIAFAKEROLES', SECRET ACCESS KEY = SECRET k, REGION = 'eu-west-1');
		CREATE CONNECTION s TO S3 (PREFIX = 's3://roles-bucket/p/') USING AWS CONNECTION a`); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.AWSConfig(bob, "a"); codeOf(t, err) != conncat.CodeInsufficientPrivilege {
		t.Fatalf("bob's AWSConfig of alice's connection: %v", err)
	}
	if _, err := cat.S3Location(bob, "s"); codeOf(t, err) != conncat.CodeInsufficientPrivilege {
		t.Fatalf("bob's S3Location of alice's connection: %v", err)
	}
	for _, ctx := range []context.Context{alice, conncat.WithRole(context.Background(), "admin"), context.Background()} {
		if _, err := cat.AWSConfig(ctx, "a"); err != nil {
			t.Fatalf("the owner, a superuser or no role: %v", err)
		}
	}
	if _, err := cat.RDSAuthToken(bob, "a", "db.example.com:5432", "app"); codeOf(t, err) != conncat.CodeInsufficientPrivilege {
		t.Fatalf("bob's RDS token from alice's connection: %v", err)
	}
	if _, err := cat.MSKAuthToken(bob, "a"); codeOf(t, err) != conncat.CodeInsufficientPrivilege {
		t.Fatalf("bob's MSK token from alice's connection: %v", err)
	}
	if _, err := cat.Exec(bob, `VALIDATE CONNECTION a`); codeOf(t, err) != conncat.CodeInsufficientPrivilege {
		t.Fatalf("bob validates alice's connection: %v", err)
	}
	if _, err := cat.RDSAuthToken(alice, "a", "db.example.com:5432", "app"); err != nil {
		t.Fatalf("alice's RDS token: %v", err)
	}
	if _, err := cat.Exec(alice, `GRANT USAGE ON CONNECTION s TO bob`); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.S3Location(bob, "s"); err != nil {
		t.Fatalf("bob after GRANT: %v", err)
	}
	if _, err := cat.AWSConfig(bob, "a"); codeOf(t, err) != conncat.CodeInsufficientPrivilege {
		t.Fatalf("USAGE on s gives none on the AWS connection it uses: %v", err)
	}
}

// TestRevokeReachesConfigsHandedOut: a config made for a role stops
// serving it once its USAGE is revoked, as ALTER reaches configs in use;
// the owner's own config is unaffected.
func TestRevokeReachesConfigsHandedOut(t *testing.T) {
	cat := openTest(t)
	alice := conncat.WithRole(context.Background(), "alice")
	bob := conncat.WithRole(context.Background(), "bob")
	if _, err := cat.Exec(alice, `CREATE SECRET k AS 'fake-secret-value';
		CREATE CONNECTION a TO AWS (ACCESS KEY ID = 'AKIAFAKEREVOKE', SECRET ACCESS KEY = SECRET k);
		GRANT USAGE ON CONNECTION a TO bob`); err != nil {
		t.Fatal(err)
	}
	bobs, err := cat.AWSConfig(bob, "a")
	if err != nil {
		t.Fatal(err)
	}
	alices, _ := cat.AWSConfig(alice, "a")
	ctx := context.Background()
	if _, err := bobs.Credentials.Retrieve(ctx); err != nil {
		t.Fatalf("bob's config while granted: %v", err)
	}
	if _, err := cat.Exec(alice, `REVOKE USAGE ON CONNECTION a FROM bob`); err != nil {
		t.Fatal(err)
	}
	if _, err := bobs.Credentials.Retrieve(ctx); codeOf(t, err) != conncat.CodeInsufficientPrivilege {
		t.Fatalf("bob's config after REVOKE: %v", err)
	}
	if _, err := alices.Credentials.Retrieve(ctx); err != nil {
		t.Fatalf("the owner's config after REVOKE: %v", err)
	}
}

// TestAuditOfUse: VALIDATE and, with WithUseAudit, every AssumeRole the
// data plane makes for a connection are in mz_audit_events: who
// validated, which role was assumed with which session name; no secret
// and no message.
func TestAuditOfUse(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)), conncat.WithUseAudit(time.Hour))
	alice := conncat.WithRole(context.Background(), "alice")
	mustExecAs(t, cat, alice, `CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cat, "c")); err != nil {
		t.Fatal(err)
	}
	mustExecAs(t, cat, alice, `VALIDATE CONNECTION c`)
	cfg, err := cat.AWSConfig(alice, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	query := `SELECT event_type, "user", json_extract(details, '$.name') AS name, json_extract(details, '$.credentials') AS credentials,
		json_extract(details, '$.role_arn') AS role_arn, json_extract(details, '$.session_name') AS session FROM mz_audit_events ORDER BY id`
	var got string
	testenv.Eventually(t, "the assume_role event written", func() bool {
		got = fmt.Sprint(mustExec(t, cat, query)[0].Rows)
		return strings.Contains(got, "assume_role")
	})
	// VALIDATE assumed the role too, but only the data plane's sessions
	// are use of the connection's credentials.
	want := fmt.Sprintf("[[create alice c <nil> <nil> <nil>] [validate alice c PASS <nil> <nil>] [assume_role <nil> c <nil> %s conncat-prod-u1]]", customerRole)
	if got != want {
		t.Fatalf("audit trail:\n%s\nwant\n%s", got, want)
	}
	if cat.DroppedUseEvents() != 0 {
		t.Fatalf("%d use events dropped", cat.DroppedUseEvents())
	}
}

func mustExecAs(t *testing.T, cat *conncat.Catalog, ctx context.Context, sql string) {
	t.Helper()
	if _, err := cat.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestRotateKeyNeedsASuperuser: a role may not re-seal every tenant's
// secrets.
func TestRotateKeyNeedsASuperuser(t *testing.T) {
	cat := openTest(t, conncat.WithSuperusers("admin"))
	next := conncat.StaticKey([]byte("conncat-test-key-rotated-0123456"))
	if err := cat.RotateKey(conncat.WithRole(context.Background(), "alice"), next); codeOf(t, err) != conncat.CodeInsufficientPrivilege {
		t.Fatalf("a role rotates the key: %v", err)
	}
	if err := cat.RotateKey(conncat.WithRole(context.Background(), "admin"), next); err != nil {
		t.Fatalf("a superuser rotates the key: %v", err)
	}
}
