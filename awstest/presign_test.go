package awstest_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-msk-iam-sasl-signer-go/signer"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"

	"github.com/conncat/conncat/awstest"
)

// session assumes role with the user's keys and returns the session's
// credentials.
func session(t *testing.T, s *awstest.STS, key, secret, role string) aws.Credentials {
	t.Helper()
	out, err := assume(context.Background(), client(s, key, secret), role, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken,
		CanExpire: true, Expires: *c.Expiration}
}

// roleTrustingEngine is an STS where the customer's role trusts the
// engine's user; it is stopped when the test ends.
func roleTrustingEngine(t *testing.T) (s *awstest.STS, key, secret string) {
	t.Helper()
	s = awstest.NewSTS()
	t.Cleanup(s.Close)
	key, secret = s.AddUser(engineUser)
	if err := s.AddRole(customerRole, trust(engineUser, "")); err != nil {
		t.Fatal(err)
	}
	return s, key, secret
}

func static(c aws.Credentials) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

func refused(t *testing.T, what string, err error, reason string) {
	t.Helper()
	var te *awstest.TokenError
	if !errors.As(err, &te) || !strings.Contains(te.Reason, reason) {
		t.Errorf("%s: %v, want a refusal saying %q", what, err, reason)
	}
}

// TestRDSAuthTokens: a token the SDK's BuildAuthToken signs with a role
// session is accepted for its host, region and user, names the session,
// and expires with it; anything altered is refused as RDS would.
func TestRDSAuthTokens(t *testing.T) {
	ctx := context.Background()
	s, key, secret := roleTrustingEngine(t)
	creds := session(t, s, key, secret, customerRole)
	const endpoint, user = "db.example.internal:5432", "app_writer"
	token, err := auth.BuildAuthToken(ctx, endpoint, "eu-west-1", user, static(creds))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.VerifyRDSAuthToken(token, endpoint, "eu-west-1", user)
	if err != nil {
		t.Fatalf("a good token refused: %v", err)
	}
	if p.Caller.RoleARN != customerRole || p.Service != "rds-db" || p.Expires.After(creds.Expires) ||
		p.Expires.Sub(p.SignedAt) > 15*time.Minute || !p.CredentialsExpire.Equal(creds.Expires) {
		t.Errorf("verified: %+v", p)
	}
	refused(t, "another user", second(s.VerifyRDSAuthToken(token, endpoint, "eu-west-1", "admin")), "for user")
	refused(t, "another host", second(s.VerifyRDSAuthToken(token, "other:5432", "eu-west-1", user)), "host")
	refused(t, "another region", second(s.VerifyRDSAuthToken(token, endpoint, "us-east-1", user)), "scoped")
	sig := token[strings.LastIndex(token, "=")+1:]
	flipped := strings.TrimSuffix(token, sig) + strings.Map(func(r rune) rune {
		if r == '0' {
			return '1'
		}
		return '0'
	}, sig)
	refused(t, "altered signature", second(s.VerifyRDSAuthToken(flipped, endpoint, "eu-west-1", user)), "signature")
	forged := creds
	forged.SessionToken = "forged"
	bad, _ := auth.BuildAuthToken(ctx, endpoint, "eu-west-1", user, static(forged))
	refused(t, "wrong session token", second(s.VerifyRDSAuthToken(bad, endpoint, "eu-west-1", user)), "security token")
	wrongSecret := creds
	wrongSecret.SecretAccessKey = "not-the-secret"
	bad, _ = auth.BuildAuthToken(ctx, endpoint, "eu-west-1", user, static(wrongSecret))
	refused(t, "wrong secret", second(s.VerifyRDSAuthToken(bad, endpoint, "eu-west-1", user)), "signature")

	// Sixteen minutes later the token is no longer accepted.
	s.SetClock(func() time.Time { return time.Now().Add(16 * time.Minute) })
	refused(t, "after 15 minutes", second(s.VerifyRDSAuthToken(token, endpoint, "eu-west-1", user)), "expired")
}

// TestMSKAuthTokens: a token from the MSK signer library is accepted for
// its region's kafka-cluster service, and expires with its session.
func TestMSKAuthTokens(t *testing.T) {
	ctx := context.Background()
	s, key, secret := roleTrustingEngine(t)
	// A 15-minute session that began 10 minutes ago: it ends before the
	// token's own 15 minutes would.
	s.SetClock(func() time.Time { return time.Now().Add(-10 * time.Minute) })
	out, err := assume(ctx, client(s, key, secret), customerRole, "", 900)
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(time.Now)
	c := out.Credentials
	creds := aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken,
		CanExpire: true, Expires: *c.Expiration}
	token, expiresMs, err := signer.GenerateAuthTokenFromCredentialsProvider(ctx, "eu-central-1", static(creds))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.VerifyMSKAuthToken(token, "eu-central-1")
	if err != nil {
		t.Fatalf("a good token refused: %v", err)
	}
	if p.Caller.RoleARN != customerRole || p.Service != "kafka-cluster" || !p.Expires.Equal(creds.Expires) ||
		!time.UnixMilli(expiresMs).After(p.Expires) {
		t.Errorf("verified: %+v (library says it expires at %v)", p, time.UnixMilli(expiresMs))
	}
	refused(t, "another region", second(s.VerifyMSKAuthToken(token, "us-east-1")), "host")
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	tampered := strings.Replace(string(raw), "kafka-cluster%3AConnect", "kafka-cluster%3AAlterCluster", 1)
	refused(t, "another action", second(s.VerifyMSKAuthToken(base64.RawURLEncoding.EncodeToString([]byte(tampered)), "eu-central-1")), "action")
	s.SetClock(func() time.Time { return creds.Expires.Add(time.Second) })
	refused(t, "after the session", second(s.VerifyMSKAuthToken(token, "eu-central-1")), "expired")
}

func second[T any](_ T, err error) error { return err }
