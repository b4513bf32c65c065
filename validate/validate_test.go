package validate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/validate"
)

const (
	engineUser   = "arn:aws:iam::210987654321:user/conncat-engine"
	jumpRole     = "arn:aws:iam::210987654321:role/conncat-jump"
	customerRole = "arn:aws:iam::123456789012:role/CustomerWriter"
	extID        = "conncat-00000000-0000-4000-8000-000000000001"
)

func allow(principal, condition string) string {
	if condition != "" {
		condition = `, "Condition": ` + condition
	}
	return `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "` + principal + `"}, "Action": "sts:AssumeRole"` + condition + `}]}`
}

var needsID = `{"StringEquals": {"sts:ExternalId": "` + extID + `"}}`

// world is an awstest STS with the engine's user and jump role.
type world struct {
	sts     *awstest.STS
	options validate.Options
}

func newWorld(t testing.TB) *world {
	t.Helper()
	s := awstest.NewSTS()
	t.Cleanup(s.Close)
	key, secret := s.AddUser(engineUser)
	if err := s.AddRole(jumpRole, allow(engineUser, "")); err != nil {
		t.Fatal(err)
	}
	return &world{sts: s, options: validate.Options{Ambient: s.Config(key, secret), CheckTimeout: 5 * time.Second}}
}

func roleSpec(principal string) connection.Spec {
	return connection.Spec{ID: "u3", Name: "aws_conn", RoleARN: customerRole, ExternalID: extID, Principal: principal, Region: "us-east-1"}
}

// summary renders results as "check STATUS" lines for comparison.
func summary(results []validate.Result) string {
	var b strings.Builder
	for _, r := range results {
		b.WriteString(r.Check + " " + string(r.Status) + "\n")
	}
	return b.String()
}

func run(t *testing.T, w *world, spec connection.Spec) []validate.Result {
	t.Helper()
	res := validate.Run(context.Background(), validate.Target{Spec: spec, CatalogName: "prod"}, w.options)
	for _, r := range res {
		t.Logf("%s %s: %s (hint: %s)", r.Check, r.Status, r.Message, r.Hint)
	}
	return res
}

func expect(t *testing.T, got []validate.Result, want string) {
	t.Helper()
	if summary(got) != want {
		t.Fatalf("got:\n%swant:\n%s", summary(got), want)
	}
}

func TestTwoHopChainPasses(t *testing.T) {
	w := newWorld(t)
	if err := w.sts.AddRole(customerRole, allow(jumpRole, needsID)); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, roleSpec(jumpRole))
	expect(t, res, "credentials PASS\nexternal_id_required PASS\n")
	if !strings.Contains(res[0].Message, "assumed-role/CustomerWriter/conncat-prod-u3") {
		t.Errorf("message should name the session: %s", res[0].Message)
	}
	if validate.Failed(res) {
		t.Error("Failed() on an all-PASS run")
	}
}

func TestTrustPolicyWithoutExternalIDCondition(t *testing.T) {
	w := newWorld(t)
	if err := w.sts.AddRole(customerRole, allow(engineUser, "")); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, roleSpec(engineUser))
	expect(t, res, "credentials PASS\nexternal_id_required FAIL\n")
	want := `"Condition": {"StringEquals": {"sts:ExternalId": "` + extID + `"}}`
	if !strings.Contains(res[1].Hint, want) || !strings.Contains(res[1].Message, "confused deputy") {
		t.Fatalf("hint must show the condition to add; got %q", res[1].Hint)
	}
	if !validate.Failed(res) {
		t.Error("Failed() must be true")
	}
}

func TestWrongPrincipal(t *testing.T) {
	w := newWorld(t)
	if err := w.sts.AddRole(customerRole, allow("arn:aws:iam::210987654321:user/someone-else", needsID)); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, roleSpec(engineUser))
	expect(t, res, "credentials FAIL\nexternal_id_required SKIP\n")
	if !strings.Contains(res[0].Message, "AWS refused to let "+engineUser+" assume "+customerRole) ||
		!strings.Contains(res[0].Hint, "SHOW TRUST POLICY FOR CONNECTION aws_conn") || !strings.Contains(res[0].Hint, extID) {
		t.Fatalf("got %q / %q", res[0].Message, res[0].Hint)
	}
}

func TestWrongExternalID(t *testing.T) {
	w := newWorld(t)
	if err := w.sts.AddRole(customerRole, allow(engineUser, `{"StringEquals": {"sts:ExternalId": "conncat-some-other-id"}}`)); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, roleSpec(engineUser))
	expect(t, res, "credentials FAIL\nexternal_id_required SKIP\n")
	if !strings.Contains(res[1].Message, "proves nothing") {
		t.Fatalf("skip reason: %s", res[1].Message)
	}
}

func TestExplicitDeny(t *testing.T) {
	w := newWorld(t)
	policy := `{"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Principal": {"AWS": "` + engineUser + `"}, "Action": "sts:AssumeRole", "Condition": ` + needsID + `},
		{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sts:AssumeRole"}]}`
	if err := w.sts.AddRole(customerRole, policy); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, roleSpec(engineUser))
	expect(t, res, "credentials FAIL\nexternal_id_required SKIP\n")
}

func TestJumpRoleRefused(t *testing.T) {
	w := newWorld(t)
	if err := w.sts.SetTrustPolicy(jumpRole, allow("arn:aws:iam::210987654321:user/not-the-engine", "")); err != nil {
		t.Fatal(err)
	}
	if err := w.sts.AddRole(customerRole, allow(jumpRole, needsID)); err != nil {
		t.Fatal(err)
	}
	res := run(t, w, roleSpec(jumpRole))
	expect(t, res, "credentials FAIL\nexternal_id_required SKIP\n")
	if !strings.HasPrefix(res[0].Message, "jump role: ") || strings.Contains(res[0].Hint, extID) {
		t.Fatalf("the jump hop needs no external ID: %q / %q", res[0].Message, res[0].Hint)
	}
}

func TestStaticKeys(t *testing.T) {
	w := newWorld(t)
	key, secret := w.sts.AddUser("arn:aws:iam::123456789012:user/writer")
	spec := connection.Spec{Name: "keys", AccessKeyID: key, SecretAccessKey: secret, STSEndpoint: w.sts.URL}
	res := run(t, w, spec)
	expect(t, res, "credentials PASS\n")
	if res[0].Message != "authenticated as arn:aws:iam::123456789012:user/writer" {
		t.Fatal(res[0].Message)
	}

	spec.SecretAccessKey = "0000000000000000000000000000000000000000"
	res = run(t, w, spec)
	expect(t, res, "credentials FAIL\n")
	if !strings.Contains(res[0].Message, "secret access key is wrong") || !strings.Contains(res[0].Hint, "ALTER SECRET") {
		t.Fatalf("wrong secret: %q / %q", res[0].Message, res[0].Hint)
	}
	if strings.Contains(res[0].Message+res[0].Hint, secret) {
		t.Fatal("the secret leaked into the result")
	}

	spec.AccessKeyID = "AKIAIOSFODNN7EXAMPLE"
	res = run(t, w, spec)
	expect(t, res, "credentials FAIL\n")
	if !strings.Contains(res[0].Message, "does not recognise the access key ID") {
		t.Fatalf("unknown key: %q", res[0].Message)
	}
}

func TestDurationLimits(t *testing.T) {
	w := newWorld(t)
	if err := w.sts.AddRole(customerRole, allow(engineUser, needsID)); err != nil {
		t.Fatal(err)
	}
	// One hop asking for more than the role's MaxSessionDuration.
	spec := roleSpec(engineUser)
	spec.Duration = 2 * time.Hour
	res := run(t, w, spec)
	if res[0].Status != validate.Fail || !strings.Contains(res[0].Hint, "Lower ASSUME ROLE DURATION") {
		t.Fatalf("got %+v", res[0])
	}
	// Two hops over an hour are refused before any call.
	spec.Principal = jumpRole
	before := w.sts.Calls("AssumeRole")
	res = run(t, w, spec)
	if res[0].Status != validate.Fail || !strings.Contains(res[0].Message, "3600-second limit") || w.sts.Calls("AssumeRole") != before {
		t.Fatalf("got %+v", res[0])
	}
}

func TestUnreachableSTS(t *testing.T) {
	w := newWorld(t)
	spec := roleSpec(engineUser)
	spec.STSEndpoint = "http://127.0.0.1:1"
	res := run(t, w, spec)
	if res[0].Status != validate.Fail || !res[0].Retryable || !strings.Contains(res[0].Message, "could not connect") {
		t.Fatalf("got %+v", res[0])
	}
}

// TestUnreachableSTSRetriedOut: when the check's time runs out while the
// SDK waits to retry a refused connection, the SDK reports only the
// cancellation; the check still says what went wrong.
func TestUnreachableSTSRetriedOut(t *testing.T) {
	w := newWorld(t)
	w.options.CheckTimeout = 300 * time.Millisecond
	spec := roleSpec(engineUser)
	spec.STSEndpoint = "http://127.0.0.1:1"
	for range 3 {
		res := run(t, w, spec)
		for _, r := range res[:2] {
			if r.Status != validate.Fail || !strings.Contains(r.Message, "could not connect") || !strings.Contains(r.Message, "connection refused") {
				t.Fatalf("got %+v", r)
			}
		}
	}
}

func TestExpiredSessionKeys(t *testing.T) {
	w := newWorld(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	w.sts.SetClock(func() time.Time { return now })
	if err := w.sts.AddRole(customerRole, allow(engineUser, needsID)); err != nil {
		t.Fatal(err)
	}
	// Keys from a role session, pasted into a static-key connection.
	hop := connection.Hop{RoleARN: customerRole, SessionName: "pasted", ExternalID: extID}
	creds, _, err := awscreds.AssumeHop(context.Background(), sts.NewFromConfig(w.options.Ambient), hop)
	if err != nil {
		t.Fatal(err)
	}
	spec := connection.Spec{Name: "pasted", AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
		SessionToken: creds.SessionToken, STSEndpoint: w.sts.URL}
	expect(t, run(t, w, spec), "credentials PASS\n")
	now = now.Add(2 * time.Hour)
	res := run(t, w, spec)
	expect(t, res, "credentials FAIL\n")
	if !strings.Contains(res[0].Message, "expired") || !strings.Contains(res[0].Hint, "ASSUME ROLE ARN") {
		t.Fatalf("got %q / %q", res[0].Message, res[0].Hint)
	}
}

// noCredentials is an engine with nothing in its credential chain, as the
// SDK reports it after trying the environment, profiles and IMDS.
type noCredentials struct{}

func (noCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, errors.New("failed to refresh cached credentials, no EC2 IMDS role found")
}

// TestEngineWithoutCredentials: an engine with no AWS credentials at all
// gets that said plainly, with where credentials come from, not an
// instance-metadata error "conncat does not recognise".
func TestEngineWithoutCredentials(t *testing.T) {
	w := newWorld(t)
	w.options.Ambient.Credentials = noCredentials{}
	res := run(t, w, roleSpec(engineUser))
	expect(t, res, "credentials FAIL\nexternal_id_required SKIP\n")
	if !strings.Contains(res[0].Message, "the engine has no AWS credentials") || !strings.Contains(res[0].Hint, "AWS_PROFILE") ||
		!strings.Contains(res[0].Hint, "-sandbox") {
		t.Fatalf("message %q, hint %q", res[0].Message, res[0].Hint)
	}
}
