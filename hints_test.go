package conncat_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
)

// TestNewcomerHints: the mistakes a newcomer made following README (issue
// 31) get a hint that points at the fix, not at something else.
func TestNewcomerHints(t *testing.T) {
	cat := openTest(t)
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/A');
		CREATE SECRET k AS 'fake-secret-value';
		CREATE CONNECTION kc TO AWS (ACCESS KEY ID = 'AKIAFAKEHINTS', SECRET ACCESS KEY = SECRET k)`)
	for _, c := range []struct{ stmt, code, hint string }{
		{`CREATE CONNECTION c TO AWS (ROLE ARN = 'arn:aws:iam::001234567890:role/A')`, conncat.CodeSyntaxError, "Did you mean ASSUME ROLE ARN?"},
		{`CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = "arn:aws:iam::001234567890:role/A")`, conncat.CodeSyntaxError, "single quotes"},
		{`VALIDATE CONNECTION aws_con`, conncat.CodeUndefinedObject, "Did you mean connection aws_conn?"},
		{`SHOW TRUST POLICY FOR CONNECTION aws_con`, conncat.CodeUndefinedObject, "Did you mean connection aws_conn?"},
		{`DROP SECRET kk`, conncat.CodeUndefinedObject, "Did you mean secret k?"},
		{`SELECT * FROM mz_connections WHERE name = "aws_conn"`, conncat.CodeUndefinedColumn, "Text values go in single quotes ('aws_conn')"},
		{`DROP SECRET k`, conncat.CodeDependentObjects, "ALTER CONNECTION kc to use another secret first, or DROP SECRET k CASCADE to drop kc too."},
		{"SHOW CONNECTIONS\nSHOW SECRETS", conncat.CodeSyntaxError, "Is a ';' missing at the end of the line before?"},
	} {
		_, err := cat.Exec(context.Background(), c.stmt)
		var e *conncat.Error
		if !errors.As(err, &e) || e.Code != c.code || !strings.Contains(e.Hint, c.hint) {
			t.Errorf("%s: %v (hint %q), want %s with a hint holding %q", c.stmt, err, hintOf(err), c.code, c.hint)
		}
	}
	// A role is offered only names it may use.
	_, err := cat.Exec(conncat.WithRole(context.Background(), "stranger"), `VALIDATE CONNECTION aws_con`)
	if strings.Contains(hintOf(err), "aws_conn") {
		t.Errorf("a stranger was offered another's connection name: %q", hintOf(err))
	}
}

func hintOf(err error) string {
	var e *conncat.Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// TestExplainWithoutEngineCredentials: a config of a role connection on an
// engine with no AWS credentials fails at its first request, and Explain
// says what VALIDATE says: the engine has none, and where they come from.
func TestExplainWithoutEngineCredentials(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	none := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no EC2 IMDS role found")
		})}
	cat := openTest(t, conncat.WithAWSConfig(none))
	mustExec(t, cat, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	cfg, err := cat.AWSConfig(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	got := conncat.Explain(err)
	if !strings.HasPrefix(got.Message, "the engine has no AWS credentials") || !strings.Contains(got.Hint, "AWS_PROFILE") {
		t.Fatalf("explained as %+v (from %v)", got, err)
	}
}
