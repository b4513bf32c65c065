// Package credentials turns a connection (connection.Spec) into AWS
// credentials: static keys, or the role chain connection.Hops plans, each
// hop an AssumeRole through a one-method STS client, behind a Cache that
// refreshes ahead of expiry, keeps the last good credentials through a
// failed refresh and makes one call however many goroutines ask.
package awscreds

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/conncat/conncat/connection"
)

// AssumeRoleAPI is the one STS call a role hop makes. *sts.Client satisfies
// it; tests pass a one-method fake.
type AssumeRoleAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// RoleProvider is an aws.CredentialsProvider that makes one hop. It does not
// cache: wrap it in a Cache.
type RoleProvider struct {
	Client AssumeRoleAPI
	Hop    connection.Hop
	// OnAssumed, when set, is told of each session obtained.
	OnAssumed func(Session)
}

// Retrieve calls AssumeRole.
func (p *RoleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, session, err := AssumeHop(ctx, p.Client, p.Hop)
	if err == nil && p.OnAssumed != nil {
		p.OnAssumed(session)
	}
	return creds, err
}

// Session is what STS said of a session besides its credentials.
type Session struct {
	// ARN is arn:aws:sts::<acct>:assumed-role/<role>/<session>.
	ARN string
	// PackedPolicySize is the percentage of STS's packed limit the session
	// policy and tags use; 0 when STS did not say (no policy or tags).
	PackedPolicySize int
}

// AssumeHop makes one AssumeRole call, with the hop's scope (session
// policy, source identity, tags), and returns the session's credentials.
func AssumeHop(ctx context.Context, client AssumeRoleAPI, hop connection.Hop) (aws.Credentials, Session, error) {
	in, err := assumeRoleInput(hop)
	if err != nil {
		return aws.Credentials{}, Session{}, &HopError{RoleARN: hop.RoleARN, Err: err}
	}
	out, err := client.AssumeRole(ctx, in)
	if err != nil {
		return aws.Credentials{}, Session{}, &HopError{RoleARN: hop.RoleARN, Err: err}
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.Expiration == nil {
		return aws.Credentials{}, Session{}, &HopError{RoleARN: hop.RoleARN, Err: errors.New("STS answered without credentials")}
	}
	var session Session
	if out.AssumedRoleUser != nil {
		session.ARN = aws.ToString(out.AssumedRoleUser.Arn)
	}
	if out.PackedPolicySize != nil {
		session.PackedPolicySize = int(*out.PackedPolicySize)
	}
	return aws.Credentials{
		AccessKeyID:     *c.AccessKeyId,
		SecretAccessKey: *c.SecretAccessKey,
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          "conncat:AssumeRole",
		CanExpire:       true,
		Expires:         *c.Expiration,
	}, session, nil
}

// assumeRoleInput is the AssumeRole request of a hop.
func assumeRoleInput(hop connection.Hop) (*sts.AssumeRoleInput, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(hop.RoleARN),
		RoleSessionName: aws.String(hop.SessionName),
	}
	if hop.ExternalID != "" {
		in.ExternalId = aws.String(hop.ExternalID)
	}
	for field, value := range hop.Inputs {
		if err := SetAssumeRoleInput(in, field, value); err != nil {
			return nil, err
		}
	}
	if hop.Scope.Policy != "" {
		in.Policy = aws.String(hop.Scope.Policy)
	}
	if hop.Scope.SourceIdentity != "" {
		in.SourceIdentity = aws.String(hop.Scope.SourceIdentity)
	}
	for _, t := range hop.Scope.Tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	return in, nil
}

// SetAssumeRoleInput sets the field of in named field (an option's
// AssumeRoleInput) from an option's value: a string field to the text, an
// int32 field (DurationSeconds) to the whole number it holds. The option
// table names fields, not code, so that an option passed to AssumeRole as
// it is needs no code here; a name that is not such a field is an error
// (TestEveryAssumeRoleInputIsAField catches it before anyone runs it).
func SetAssumeRoleInput(in *sts.AssumeRoleInput, field, value string) error {
	f := reflect.ValueOf(in).Elem().FieldByName(field)
	if !f.IsValid() || !f.CanSet() {
		return fmt.Errorf("AssumeRole has no input %s", field)
	}
	switch f.Type() {
	case reflect.TypeFor[*string]():
		f.Set(reflect.ValueOf(aws.String(value)))
	case reflect.TypeFor[*int32]():
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return fmt.Errorf("AssumeRole input %s takes a whole number, not %q", field, value)
		}
		f.Set(reflect.ValueOf(aws.Int32(int32(n))))
	default:
		return fmt.Errorf("AssumeRole input %s is a %s: no option value sets it", field, f.Type())
	}
	return nil
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
type STSFactory func(spec connection.Spec, creds aws.CredentialsProvider) AssumeRoleAPI

// NewSTSFactory returns the factory for real STS clients derived from base
// (the engine's ambient config), set up by STSOptions.
func NewSTSFactory(base aws.Config) STSFactory {
	return func(spec connection.Spec, creds aws.CredentialsProvider) AssumeRoleAPI {
		return sts.NewFromConfig(base, STSOptions(spec, creds))
	}
}

// STSOptions points an STS client at a connection's STS: the region is
// Region's; the endpoint is the connection's STS ENDPOINT, else its
// ENDPOINT, else whatever the base config resolves (AWS_ENDPOINT_URL_STS,
// ...). creds signs the calls.
func STSOptions(spec connection.Spec, creds aws.CredentialsProvider) func(*sts.Options) {
	return func(o *sts.Options) {
		o.Credentials = creds
		o.Region = Region(spec, o.Region)
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
// session is reused across refreshes of the customer hop), the customer
// hop narrowed by scope. ambient makes the first hop; newSTS builds each
// hop's client. Static keys cannot be narrowed: a scope on them is an
// error, never silently dropped.
func NewProvider(spec connection.Spec, catalogName string, scope connection.SessionScope, ambient aws.CredentialsProvider, newSTS STSFactory, opts CacheOptions) (aws.CredentialsProvider, error) {
	if !spec.AssumesRole() {
		if spec.AccessKeyID == "" || spec.SecretAccessKey == "" {
			return nil, fmt.Errorf("connection %q has neither a role nor a complete access key", spec.Name)
		}
		if !scope.IsZero() {
			return nil, fmt.Errorf("connection %q uses static keys, which no session can narrow", spec.Name)
		}
		return newStaticKeys(spec.AccessKeyID, spec.SecretAccessKey, spec.SessionToken), nil
	}
	hops, err := connection.Hops(spec, catalogName, scope)
	if err != nil {
		return nil, err
	}
	if ambient == nil {
		return nil, errors.New("no ambient credentials to assume a role with")
	}
	var creds aws.CredentialsProvider = ambient
	var cache *Cache
	for i, hop := range hops {
		hopSpec, hopOpts := spec, opts
		if i < len(hops)-1 {
			hopSpec, hopOpts = spec.EngineHop(), innerHop(opts)
		}
		role := &RoleProvider{Client: newSTS(hopSpec, creds), Hop: hop}
		if i == len(hops)-1 {
			role.OnAssumed = opts.OnAssumed
		}
		cache = NewCache(role, hopOpts)
		creds = cache
	}
	return cache, nil
}

// innerHop is opts for a hop whose credentials only make the next one:
// its refreshes are reported as Inner, and its starts not at all (the
// connection's status follows the hop whose credentials it serves).
func innerHop(opts CacheOptions) CacheOptions {
	opts.OnRefreshStart = nil
	if report := opts.OnRefresh; report != nil {
		opts.OnRefresh = func(ev RefreshEvent) {
			ev.Inner = true
			report(ev)
		}
	}
	return opts
}
