package connection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AssumeRoleAPI is the one STS call a role hop makes. *sts.Client satisfies
// it; tests pass a one-method fake.
type AssumeRoleAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// Hop is one AssumeRole call in a connection's chain.
type Hop struct {
	RoleARN     string
	SessionName string
	// ExternalID is sent only on the hop into the customer's role.
	ExternalID string
	// Duration is 0 for STS's default (one hour).
	Duration time.Duration
}

// DefaultSessionName is the session name conncat uses when a connection
// names none: conncat-<catalog>-<connection id>, always valid for STS, so
// CloudTrail in the customer's account says which engine and which
// connection acted.
func DefaultSessionName(catalogName, connectionID string) string {
	name := "conncat-" + connectionID
	if catalogName != "" {
		name = "conncat-" + catalogName + "-" + connectionID
	}
	if len(name) > MaxSessionNameLen {
		// Keep the connection ID, which is what makes the name useful,
		// and cut the catalog name instead.
		keep := MaxSessionNameLen - len("conncat--") - len(connectionID)
		if keep > 0 {
			name = "conncat-" + catalogName[:keep] + "-" + connectionID
		}
	}
	return SanitizeSessionName(name)
}

// Hops plans the AssumeRole calls for a connection that assumes a role
// (DESIGN §3):
//   - no principal, or an IAM user principal: one hop, the ambient
//     credentials assume the customer's role with the external ID;
//   - an IAM role principal: two hops, the ambient credentials assume the
//     principal (a jump role, no external ID), whose session assumes the
//     customer's role with the external ID. AWS caps that chained session at
//     one hour, so a longer duration is an error rather than a surprise at
//     the first refresh.
//
// It returns nil for a connection with static keys.
func Hops(spec Spec, catalogName string) ([]Hop, error) {
	if !spec.AssumesRole() {
		return nil, nil
	}
	if _, err := ParseRoleARN(spec.RoleARN); err != nil {
		return nil, err
	}
	if spec.ExternalID == "" {
		// A role connection without an external ID would be the confused
		// deputy this library exists to prevent; the catalog always
		// generates one, so this is a caller building Specs by hand.
		return nil, fmt.Errorf("connection %q assumes a role but has no external ID", spec.Name)
	}
	session := spec.SessionName
	if session == "" {
		session = DefaultSessionName(catalogName, spec.ID)
	}
	if err := CheckSessionName(session); err != nil {
		return nil, err
	}
	if spec.Duration != 0 {
		if err := CheckAssumeRoleDuration(spec.Duration); err != nil {
			return nil, err
		}
	}
	customer := Hop{RoleARN: spec.RoleARN, SessionName: session, ExternalID: spec.ExternalID, Duration: spec.Duration}
	if spec.Principal == "" {
		return []Hop{customer}, nil
	}
	principal, err := ParsePrincipalARN(spec.Principal)
	if err != nil {
		return nil, err
	}
	if principal.Kind != "role" {
		return []Hop{customer}, nil
	}
	if err := CheckChainedDuration(spec.Duration); err != nil {
		return nil, err
	}
	jump := Hop{RoleARN: spec.Principal, SessionName: DefaultSessionName(catalogName, spec.ID)}
	return []Hop{jump, customer}, nil
}

// RoleProvider is an aws.CredentialsProvider that makes one hop. It does not
// cache: wrap it in a Cache.
type RoleProvider struct {
	Client AssumeRoleAPI
	Hop    Hop
}

// Retrieve calls AssumeRole.
func (p *RoleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, _, err := AssumeHop(ctx, p.Client, p.Hop)
	return creds, err
}

// AssumeHop makes one AssumeRole call and returns the session's
// credentials and ARN (arn:aws:sts::<acct>:assumed-role/<role>/<session>).
func AssumeHop(ctx context.Context, client AssumeRoleAPI, hop Hop) (aws.Credentials, string, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(hop.RoleARN),
		RoleSessionName: aws.String(hop.SessionName),
	}
	if hop.ExternalID != "" {
		in.ExternalId = aws.String(hop.ExternalID)
	}
	if hop.Duration != 0 {
		in.DurationSeconds = aws.Int32(int32(hop.Duration / time.Second))
	}
	out, err := client.AssumeRole(ctx, in)
	if err != nil {
		return aws.Credentials{}, "", &HopError{RoleARN: hop.RoleARN, Err: err}
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.Expiration == nil {
		return aws.Credentials{}, "", &HopError{RoleARN: hop.RoleARN, Err: errors.New("STS answered without credentials")}
	}
	var arn string
	if out.AssumedRoleUser != nil {
		arn = aws.ToString(out.AssumedRoleUser.Arn)
	}
	return aws.Credentials{
		AccessKeyID:     *c.AccessKeyId,
		SecretAccessKey: *c.SecretAccessKey,
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          "conncat:AssumeRole",
		CanExpire:       true,
		Expires:         *c.Expiration,
	}, arn, nil
}

// HopError is a failed AssumeRole; Err is the SDK's error, so errors.As
// still finds smithy.APIError and the HTTP response in it.
type HopError struct {
	RoleARN string
	Err     error
}

func (e *HopError) Error() string { return fmt.Sprintf("assume role %s: %v", e.RoleARN, e.Err) }
func (e *HopError) Unwrap() error { return e.Err }

// STSFactory builds the STS client for one hop from the credentials that
// make it. The root package builds *sts.Client; tests return fakes.
type STSFactory func(spec Spec, creds aws.CredentialsProvider) AssumeRoleAPI

// NewSTSFactory returns the factory for real STS clients derived from base
// (the engine's ambient config), set up by STSOptions.
func NewSTSFactory(base aws.Config) STSFactory {
	return func(spec Spec, creds aws.CredentialsProvider) AssumeRoleAPI {
		return sts.NewFromConfig(base, STSOptions(spec, creds))
	}
}

// STSOptions points an STS client at a connection's STS: the region is the
// connection's, else the base config's, else us-east-1; the endpoint is the
// connection's STS ENDPOINT, else its ENDPOINT, else whatever the base
// config resolves (AWS_ENDPOINT_URL_STS, ...). creds signs the calls.
func STSOptions(spec Spec, creds aws.CredentialsProvider) func(*sts.Options) {
	return func(o *sts.Options) {
		o.Credentials = creds
		if spec.Region != "" {
			o.Region = spec.Region
		} else if o.Region == "" {
			o.Region = "us-east-1"
		}
		switch {
		case spec.STSEndpoint != "":
			o.BaseEndpoint = aws.String(spec.STSEndpoint)
		case spec.Endpoint != "":
			o.BaseEndpoint = aws.String(spec.Endpoint)
		}
	}
}

// NewProvider returns the credentials provider of a connection: static keys
// as they are, or the chain of Hops, each hop cached (so the jump role's
// session is reused across refreshes of the customer hop). ambient makes
// the first hop; newSTS builds each hop's client.
func NewProvider(spec Spec, catalogName string, ambient aws.CredentialsProvider, newSTS STSFactory, opts CacheOptions) (aws.CredentialsProvider, error) {
	if !spec.AssumesRole() {
		if spec.AccessKeyID == "" || spec.SecretAccessKey == "" {
			return nil, fmt.Errorf("connection %q has neither a role nor a complete access key", spec.Name)
		}
		return newStaticKeys(spec.AccessKeyID, spec.SecretAccessKey, spec.SessionToken), nil
	}
	hops, err := Hops(spec, catalogName)
	if err != nil {
		return nil, err
	}
	if ambient == nil {
		return nil, errors.New("no ambient credentials to assume a role with")
	}
	var creds aws.CredentialsProvider = ambient
	var cache *Cache
	for i, hop := range hops {
		hopSpec := spec
		if i < len(hops)-1 {
			hopSpec = spec.EngineHop()
		}
		cache = NewCache(&RoleProvider{Client: newSTS(hopSpec, creds), Hop: hop}, opts)
		creds = cache
	}
	return cache, nil
}

// EngineHop is the spec for a hop into the engine's own principal (the
// jump role): the connection's region and endpoints are the tenant's
// choice, and a tenant's server must never receive a request signed with
// the engine's credentials, which it could replay at STS. That hop always
// goes where the engine's own configuration points.
func (s Spec) EngineHop() Spec {
	s.Region, s.Endpoint, s.STSEndpoint = "", "", ""
	return s
}
