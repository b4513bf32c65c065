package awstest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/conncat/conncat/awstest"
)

const (
	engineUser   = "arn:aws:iam::210987654321:user/conncat-engine"
	jumpRole     = "arn:aws:iam::210987654321:role/conncat-jump"
	customerRole = "arn:aws:iam::123456789012:role/CustomerWriter"
	externalID   = "conncat-00000000-0000-4000-8000-000000000001"
)

func trust(principal, condition string) string {
	if condition != "" {
		condition = `, "Condition": ` + condition
	}
	return `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "` + principal + `"}, "Action": "sts:AssumeRole"` + condition + `}]}`
}

var withExternalID = `{"StringEquals": {"sts:ExternalId": "` + externalID + `"}}`

func client(s *awstest.STS, key, secret string) *sts.Client {
	return sts.NewFromConfig(s.Config(key, secret))
}

func assume(ctx context.Context, c *sts.Client, role, extID string, seconds int32) (*sts.AssumeRoleOutput, error) {
	in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("conncat-test-u1")}
	if extID != "" {
		in.ExternalId = aws.String(extID)
	}
	if seconds != 0 {
		in.DurationSeconds = aws.Int32(seconds)
	}
	return c.AssumeRole(ctx, in)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "no API error: " + errString(err)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestCallerIdentityAndSignatures(t *testing.T) {
	s := awstest.NewSTS()
	defer s.Close()
	ctx := context.Background()
	key, secret := s.AddUser(engineUser)

	out, err := client(s, key, secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Arn) != engineUser || aws.ToString(out.Account) != "210987654321" {
		t.Fatalf("identity %s in %s", aws.ToString(out.Arn), aws.ToString(out.Account))
	}
	_, err = client(s, key, "0000000000000000000000000000000000000000").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code(err) != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", code(err))
	}
	_, err = client(s, "AKIAIOSFODNN7EXAMPLE", secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code(err) != "InvalidClientTokenId" {
		t.Fatalf("unknown key: %v", code(err))
	}
}

func TestAssumeRoleTrustPolicies(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, policy, extID string
		want                string // "" for success, else the error code
	}{
		{"user principal with the external ID", trust(engineUser, withExternalID), externalID, ""},
		{"missing external ID", trust(engineUser, withExternalID), "", "AccessDenied"},
		{"wrong external ID", trust(engineUser, withExternalID), "conncat-wrong", "AccessDenied"},
		{"no condition lets anyone with the principal in", trust(engineUser, ""), "", ""},
		{"wrong principal", trust("arn:aws:iam::210987654321:user/someone-else", withExternalID), externalID, "AccessDenied"},
		{"account root principal", trust("arn:aws:iam::210987654321:root", withExternalID), externalID, ""},
		{"account ID principal", trust("210987654321", withExternalID), externalID, ""},
		{"another account's root", trust("arn:aws:iam::999999999999:root", withExternalID), externalID, "AccessDenied"},
		{"StringLike", trust(engineUser, `{"StringLike": {"sts:ExternalId": "conncat-*"}}`), externalID, ""},
		{"StringLike refuses a missing key", trust(engineUser, `{"StringLike": {"sts:ExternalId": "conncat-*"}}`), "", "AccessDenied"},
		{"Null false requires the key", trust(engineUser, `{"Null": {"sts:ExternalId": "false"}}`), "", "AccessDenied"},
		{"explicit Deny wins", `{"Version": "2012-10-17", "Statement": [
			{"Effect": "Allow", "Principal": {"AWS": "` + engineUser + `"}, "Action": "sts:AssumeRole"},
			{"Effect": "Deny", "Principal": "*", "Action": "sts:*", "Condition": {"StringNotEquals": {"sts:ExternalId": "` + externalID + `"}}}]}`, "conncat-wrong", "AccessDenied"},
		{"explicit Deny not matching", `{"Version": "2012-10-17", "Statement": [
			{"Effect": "Allow", "Principal": {"AWS": "` + engineUser + `"}, "Action": "sts:AssumeRole"},
			{"Effect": "Deny", "Principal": "*", "Action": "sts:*", "Condition": {"StringNotEquals": {"sts:ExternalId": "` + externalID + `"}}}]}`, externalID, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := awstest.NewSTS()
			defer s.Close()
			key, secret := s.AddUser(engineUser)
			if err := s.AddRole(customerRole, tc.policy); err != nil {
				t.Fatal(err)
			}
			out, err := assume(ctx, client(s, key, secret), customerRole, tc.extID, 0)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if !strings.HasPrefix(aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::123456789012:assumed-role/CustomerWriter/") {
					t.Fatalf("session ARN %s", aws.ToString(out.AssumedRoleUser.Arn))
				}
				return
			}
			if code(err) != tc.want {
				t.Fatalf("want %s, got %s", tc.want, code(err))
			}
		})
	}
}

func TestRoleChainingAndSessions(t *testing.T) {
	ctx := context.Background()
	s := awstest.NewSTS()
	defer s.Close()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	key, secret := s.AddUser(engineUser)
	if err := s.AddRole(jumpRole, trust(engineUser, "")); err != nil {
		t.Fatal(err)
	}
	// The customer trusts the jump role: its sessions match, as in IAM.
	if err := s.AddRole(customerRole, trust(jumpRole, withExternalID)); err != nil {
		t.Fatal(err)
	}
	s.SetMaxSessionDuration(customerRole, 12*time.Hour)
	jump, err := assume(ctx, client(s, key, secret), jumpRole, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := jump.Credentials
	jumpClient := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.URL),
		Credentials: credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)})
	if _, err := assume(ctx, jumpClient, customerRole, externalID, 7200); code(err) != "ValidationError" || !strings.Contains(err.Error(), "role chaining") {
		t.Fatalf("chained 2h session: %v", err)
	}
	out, err := assume(ctx, jumpClient, customerRole, externalID, 3600)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Credentials.Expiration.Equal(now.Add(time.Hour)) {
		t.Fatalf("expiration %v", out.Credentials.Expiration)
	}
	// The user itself may ask for 2 hours (no chaining)... but the user is
	// not trusted by the customer role.
	if _, err := assume(ctx, client(s, key, secret), customerRole, externalID, 7200); code(err) != "AccessDenied" {
		t.Fatalf("untrusted user: %v", code(err))
	}
	// A session token that does not match its key is refused.
	bad := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.URL),
		Credentials: credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, "forged")})
	if _, err := bad.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); code(err) != "InvalidClientTokenId" {
		t.Fatalf("forged token: %v", code(err))
	}
	// After expiry the session is refused with ExpiredToken.
	now = now.Add(61 * time.Minute)
	if _, err := jumpClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); code(err) != "ExpiredToken" {
		t.Fatalf("expired session: %v", code(err))
	}
	if got := s.Assumed(customerRole); got != 1 {
		t.Fatalf("customer role assumed %d times, want 1", got)
	}
}

func TestDurationBounds(t *testing.T) {
	ctx := context.Background()
	s := awstest.NewSTS()
	defer s.Close()
	key, secret := s.AddUser(engineUser)
	if err := s.AddRole(customerRole, trust(engineUser, withExternalID)); err != nil {
		t.Fatal(err)
	}
	if _, err := assume(ctx, client(s, key, secret), customerRole, externalID, 600); code(err) != "ValidationError" {
		t.Fatalf("600 s: %v", code(err))
	}
	if _, err := assume(ctx, client(s, key, secret), customerRole, externalID, 7200); code(err) != "ValidationError" || !strings.Contains(err.Error(), "MaxSessionDuration") {
		t.Fatalf("over MaxSessionDuration: %v", err)
	}
}

// trustActions is a trust policy allowing principal the given actions
// with the external ID.
func trustActions(principal string, actions ...string) string {
	return `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "` + principal +
		`"}, "Action": ["` + strings.Join(actions, `", "`) + `"], "Condition": ` + withExternalID + `}]}`
}

// TestSessionPolicyIdentityAndTags: AssumeRole's session policy, source
// identity and tags are checked as STS checks them, need the trust policy
// to allow sts:SetSourceIdentity and sts:TagSession, and are recorded.
func TestSessionPolicyIdentityAndTags(t *testing.T) {
	s := awstest.NewSTS()
	defer s.Close()
	ctx := context.Background()
	key, secret := s.AddUser(engineUser)
	c := client(s, key, secret)
	if err := s.AddRole(customerRole, trustActions(engineUser, "sts:AssumeRole")); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a/*"}]}`
	in := func(mod func(*sts.AssumeRoleInput)) *sts.AssumeRoleInput {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(customerRole), RoleSessionName: aws.String("conncat-test-u1"), ExternalId: aws.String(externalID)}
		mod(in)
		return in
	}
	out, err := c.AssumeRole(ctx, in(func(in *sts.AssumeRoleInput) { in.Policy = aws.String(policy) }))
	if err != nil {
		t.Fatal(err)
	}
	if p := aws.ToInt32(out.PackedPolicySize); p < 1 || p > 100 {
		t.Fatalf("packed policy size %d%%", p)
	}
	withSource := in(func(in *sts.AssumeRoleInput) { in.SourceIdentity = aws.String("alice") })
	withTags := in(func(in *sts.AssumeRoleInput) {
		in.Tags = []types.Tag{{Key: aws.String("conncat:role"), Value: aws.String("alice")}}
	})
	for name, tc := range map[string]struct {
		in   *sts.AssumeRoleInput
		want string
	}{
		"policy too long": {in(func(in *sts.AssumeRoleInput) { in.Policy = aws.String(strings.Repeat(" ", 2049)) }), "ValidationError"},
		"policy not JSON": {in(func(in *sts.AssumeRoleInput) { in.Policy = aws.String("{") }), "MalformedPolicyDocument"},
		"packed too large": {in(func(in *sts.AssumeRoleInput) {
			in.Policy = aws.String(policy)
			in.Tags = []types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 256))}}
			for i := range 8 {
				in.Tags = append(in.Tags, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String(strings.Repeat("v", 256))})
			}
		}), "PackedPolicyTooLarge"},
		"source identity not trusted": {withSource, "AccessDenied"},
		"tags not trusted":            {withTags, "AccessDenied"},
		"bad source identity":         {in(func(in *sts.AssumeRoleInput) { in.SourceIdentity = aws.String("aws:me") }), "ValidationError"},
	} {
		if _, err := c.AssumeRole(ctx, tc.in); code(err) != tc.want {
			t.Errorf("%s: %s, want %s", name, code(err), tc.want)
		}
	}
	if err := s.SetTrustPolicy(customerRole, trustActions(engineUser, "sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession")); err != nil {
		t.Fatal(err)
	}
	for _, in := range []*sts.AssumeRoleInput{withSource, withTags} {
		if _, err := c.AssumeRole(ctx, in); err != nil {
			t.Fatalf("trusted: %v", err)
		}
	}
	reqs := s.AssumeRoleRequests()
	last := reqs[len(reqs)-1]
	if last.Tags["conncat:role"] != "alice" || last.ExternalID != externalID || last.SessionARN == "" {
		t.Fatalf("last request recorded as %+v", last)
	}
	if first := reqs[0]; first.Policy != policy || first.PackedPolicySize != int(aws.ToInt32(out.PackedPolicySize)) {
		t.Fatalf("first request recorded as %+v", first)
	}
	if refused := reqs[1]; refused.Error == "" || refused.SessionARN != "" {
		t.Fatalf("a refused request recorded as %+v", refused)
	}
}

// TestSourceIdentityFollowsTheChain: a session's source identity is
// carried into the sessions it assumes and cannot be changed on the way.
func TestSourceIdentityFollowsTheChain(t *testing.T) {
	s := awstest.NewSTS()
	defer s.Close()
	ctx := context.Background()
	key, secret := s.AddUser(engineUser)
	if err := s.AddRole(jumpRole, `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "`+engineUser+`"}, "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}]}`); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRole(customerRole, trustActions(jumpRole, "sts:AssumeRole", "sts:SetSourceIdentity")); err != nil {
		t.Fatal(err)
	}
	jump, err := client(s, key, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(jumpRole),
		RoleSessionName: aws.String("jump"), SourceIdentity: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	jc := sts.NewFromConfig(s.Config("", ""), func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(*jump.Credentials.AccessKeyId, *jump.Credentials.SecretAccessKey, *jump.Credentials.SessionToken)
	})
	changed := &sts.AssumeRoleInput{RoleArn: aws.String(customerRole), RoleSessionName: aws.String("customer"), ExternalId: aws.String(externalID), SourceIdentity: aws.String("bob")}
	if _, err := jc.AssumeRole(ctx, changed); code(err) != "AccessDenied" {
		t.Fatalf("a changed source identity: %s", code(err))
	}
	out, err := jc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(customerRole), RoleSessionName: aws.String("customer"), ExternalId: aws.String(externalID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SourceIdentity) != "alice" {
		t.Fatalf("source identity along the chain: %q", aws.ToString(out.SourceIdentity))
	}
}

// TestTrustConditionsOnIdentity: a trust policy may demand a source
// identity or a tag value; requests without them are refused.
func TestTrustConditionsOnIdentity(t *testing.T) {
	s := awstest.NewSTS()
	defer s.Close()
	ctx := context.Background()
	key, secret := s.AddUser(engineUser)
	c := client(s, key, secret)
	policy := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "` + engineUser + `"},
		"Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
		"Condition": {"StringEquals": {"sts:ExternalId": "` + externalID + `", "aws:RequestTag/conncat:catalog": "prod"}, "StringLike": {"sts:SourceIdentity": "team-*"}}}]}`
	if err := s.AddRole(customerRole, policy); err != nil {
		t.Fatal(err)
	}
	in := func(source, catalog string) *sts.AssumeRoleInput {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(customerRole), RoleSessionName: aws.String("conncat-test-u1"), ExternalId: aws.String(externalID)}
		if source != "" {
			in.SourceIdentity = aws.String(source)
		}
		if catalog != "" {
			in.Tags = []types.Tag{{Key: aws.String("conncat:catalog"), Value: aws.String(catalog)}}
		}
		return in
	}
	for _, tc := range []struct {
		source, catalog, want string
	}{
		{"team-a", "prod", ""},
		{"", "prod", "AccessDenied"},
		{"team-a", "", "AccessDenied"},
		{"other", "prod", "AccessDenied"},
		{"team-a", "staging", "AccessDenied"},
	} {
		_, err := c.AssumeRole(ctx, in(tc.source, tc.catalog))
		if got := code(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("source %q, catalog tag %q: %v, want %q", tc.source, tc.catalog, err, tc.want)
		}
	}
}
