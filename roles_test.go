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
