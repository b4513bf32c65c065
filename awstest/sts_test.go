package awstest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
