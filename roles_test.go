package conncat_test

import (
	"context"
	"testing"

	"github.com/conncat/conncat"
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
