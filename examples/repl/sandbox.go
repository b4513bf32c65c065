package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
)

// The sandbox plays both sides of the trust-policy dance without an AWS
// account: an in-process STS (awstest) holds the engine's IAM user, the
// engine's principal role in the vendor account, and one customer role in
// another account. The customer role starts out trusting the principal
// *without* the external ID — the confused-deputy mistake VALIDATE exists
// to catch — so a newcomer sees external_id_required fail, pastes the
// policy with \sandbox trust, and sees every check pass.
const (
	sandboxEngineUser   = "arn:aws:iam::111122223333:user/conncat-engine"
	sandboxPrincipal    = "arn:aws:iam::111122223333:role/conncat-principal"
	sandboxCustomerRole = "arn:aws:iam::444455556666:role/conncat-sandbox-customer"
)

const sandboxHelp = `Sandbox: an in-process STS plays AWS (STS only: S3 checks need a real or MinIO endpoint).
  engine principal: ` + sandboxPrincipal + `
  customer role:    ` + sandboxCustomerRole + ` (trusts the principal without an external ID)
  \sandbox trust CONNECTION    paste the connection's trust policy into its role (creating the role if needed)
  \sandbox untrust CONNECTION  put back the careless starting policy (no external ID required)
Try:
  CREATE CONNECTION demo TO AWS (ASSUME ROLE ARN = '` + sandboxCustomerRole + `');
  VALIDATE CONNECTION demo;
  \sandbox trust demo
  VALIDATE CONNECTION demo;
  \creds demo
  SELECT * FROM mz_internal.mz_aws_connection_statuses;`

type sandbox struct {
	sts *awstest.STS
}

// newSandbox starts the fake STS and returns the catalog options that
// point conncat at it.
func newSandbox() (*sandbox, []conncat.Option, error) {
	sts := awstest.NewSTS()
	key, secret := sts.AddUser(sandboxEngineUser)
	if err := sts.AddRole(sandboxPrincipal, awstest.TrustWithoutExternalID(sandboxEngineUser)); err != nil {
		sts.Close()
		return nil, nil, err
	}
	if err := sts.AddRole(sandboxCustomerRole, awstest.TrustWithoutExternalID(sandboxPrincipal)); err != nil {
		sts.Close()
		return nil, nil, err
	}
	return &sandbox{sts: sts}, []conncat.Option{
		conncat.WithAWSConfig(sts.Config(key, secret)),
		conncat.WithPrincipal(sandboxPrincipal),
		// The fake STS listens on http://127.0.0.1; a connection whose
		// ENDPOINT names it must be accepted.
		conncat.WithPlainHTTPEndpoints(),
	}, nil
}

func (sb *sandbox) Close() { sb.sts.Close() }

func metaError(code, format string, args ...any) *conncat.Error {
	return &conncat.Error{Code: code, Message: fmt.Sprintf(format, args...), Position: -1}
}

// command runs \sandbox [trust|untrust] NAME.
func (sb *sandbox) command(ctx context.Context, cat *conncat.Catalog, args []string) (*conncat.Result, error) {
	if sb == nil {
		return nil, &conncat.Error{Code: conncat.CodePrerequisiteState, Message: `\sandbox needs the REPL started with -sandbox`, Position: -1,
			Hint: "Run go run ./examples/repl -sandbox to play AWS in-process."}
	}
	if len(args) == 0 {
		return &conncat.Result{Tag: "SANDBOX", Notices: strings.Split(sandboxHelp, "\n")}, nil
	}
	if len(args) != 2 || (args[0] != "trust" && args[0] != "untrust") {
		return nil, metaError(conncat.CodeSyntaxError, `usage: \sandbox trust CONNECTION or \sandbox untrust CONNECTION`)
	}
	name := strings.Trim(args[1], `"`)
	roleARN, err := connectionRole(ctx, cat, name)
	if err != nil {
		return nil, err
	}
	policy := awstest.TrustWithoutExternalID(sandboxPrincipal)
	if args[0] == "trust" {
		res, err := cat.Exec(ctx, "SHOW TRUST POLICY FOR CONNECTION "+conncat.QuoteIdent(name))
		if err != nil {
			return nil, err
		}
		policy = res[0].Rows[0][2].(string)
	}
	if err := sb.sts.SetTrustPolicy(roleARN, policy); err != nil {
		if err := sb.sts.AddRole(roleARN, policy); err != nil {
			return nil, metaError(conncat.CodeInvalidParameterValue, "the sandbox cannot create role %s: %v", roleARN, err)
		}
	}
	if args[0] == "trust" {
		return &conncat.Result{Tag: "SANDBOX TRUST", Notices: []string{
			fmt.Sprintf("role %s now has the trust policy of connection %q: only %s, with the connection's external ID, may assume it", roleARN, name, sandboxPrincipal)}}, nil
	}
	return &conncat.Result{Tag: "SANDBOX UNTRUST", Notices: []string{
		fmt.Sprintf("role %s trusts %s again without asking for an external ID", roleARN, sandboxPrincipal)}}, nil
}

// connectionRole is the role a connection assumes, following an S3
// connection to its AWS connection.
func connectionRole(ctx context.Context, cat *conncat.Catalog, name string) (string, error) {
	d, err := cat.Describe(ctx, name)
	if err != nil {
		return "", err
	}
	if d.AssumeRoleARN == "" {
		return "", metaError(conncat.CodeWrongObjectType, "connection %q does not assume a role", name)
	}
	return d.AssumeRoleARN, nil
}

// sandboxS3Hint replaces the hint of a failed S3 check in the sandbox:
// "grant s3:ListBucket" cannot help where there is no S3 at all.
const sandboxS3Hint = "The sandbox plays STS only, not S3. To check S3, point an AWS connection with static keys at MinIO " +
	"(ENDPOINT = 'http://127.0.0.1:9000', REGION = 'minio') or at a real bucket."

// sandboxS3Hints rewrites the hints of VALIDATE's failed S3 checks, in its
// rows and in its error, for the sandbox.
func sandboxS3Hints(res *conncat.Result, err error) {
	s3Failed := false
	if res != nil && len(res.Columns) >= 4 && res.Columns[0] == "check" && res.Columns[3] == "hint" {
		for _, row := range res.Rows {
			check, _ := row[0].(string)
			if row[1] == "FAIL" && check != conncat.CheckCredentials && check != conncat.CheckExternalIDRequired {
				row[3] = sandboxS3Hint
				s3Failed = true
			}
		}
	}
	var e *conncat.Error
	if s3Failed && errors.As(err, &e) && strings.Contains(e.Hint, "s3:") {
		e.Hint = sandboxS3Hint
	}
}
