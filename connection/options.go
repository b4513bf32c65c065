package connection

import (
	"strconv"
	"strings"
	"time"
)

// Option names an option of an AWS or S3 connection, spelled as in SQL.
// The SQL parser and the catalog share this vocabulary so that an error
// names an option the same way wherever it is found.
type Option string

// The options of CREATE CONNECTION ... TO AWS.
const (
	AccessKeyID           Option = "ACCESS KEY ID"
	SecretAccessKey       Option = "SECRET ACCESS KEY"
	SessionToken          Option = "SESSION TOKEN"
	AssumeRoleARN         Option = "ASSUME ROLE ARN"
	AssumeRoleSessionName Option = "ASSUME ROLE SESSION NAME"
	AssumeRoleDuration    Option = "ASSUME ROLE DURATION"
	Region                Option = "REGION"
	Endpoint              Option = "ENDPOINT"
	STSEndpoint           Option = "STS ENDPOINT"
)

// The options of CREATE CONNECTION ... TO S3, and of VALIDATE CONNECTION.
const (
	Prefix Option = "PREFIX"
	S3Path Option = "S3 PATH"
)

// Scope is the statement an option belongs to.
type Scope uint8

const (
	// ScopeAWS options belong to CREATE/ALTER CONNECTION ... TO AWS.
	ScopeAWS Scope = iota + 1
	// ScopeS3 options belong to CREATE/ALTER CONNECTION ... TO S3.
	ScopeS3
	// ScopeValidate options belong to VALIDATE CONNECTION.
	ScopeValidate
)

// ValueKind is the type of an option's value.
type ValueKind uint8

const (
	// TextValue is a string literal.
	TextValue ValueKind = iota + 1
	// DurationValue is a number of seconds or a string such as '1h'.
	DurationValue
)

// SecretUse says whether an option's value may be, or must be, a secret.
type SecretUse uint8

const (
	// NotSecret values are literals, stored and shown in plain text.
	NotSecret SecretUse = iota
	// SecretAllowed values are a literal or SECRET name.
	SecretAllowed
	// SecretRequired values must be SECRET name.
	SecretRequired
	// SecretSealed values are SECRET name, or a literal conncat seals
	// itself and never shows again.
	SecretSealed
)

// Echo says when a literal value of an option may be shown back in a
// statement that did not parse (the parsed ones are redacted by kind).
type Echo uint8

const (
	// EchoNever hides every value: it may be a secret.
	EchoNever Echo = iota
	// EchoAlways shows the value: its errors quote it back anyway.
	EchoAlways
	// EchoWithoutUserinfo shows a URL unless it holds user:password@.
	EchoWithoutUserinfo
	// EchoIfValid shows only a value the option's rule accepts: a secret
	// key pasted in place of its ID is not one.
	EchoIfValid
)

// OptionDef is everything conncat knows about one option: the parser,
// redaction, the keyword list, the catalog's row mapping and columns (each
// store adds a missing option column when it opens), resolution and the
// AssumeRole input all read it from Options, so that a new option is one
// row here (plus its rule and its golden cases).
type OptionDef struct {
	Name   Option
	Scope  Scope
	Value  ValueKind
	Secret SecretUse
	Echo   Echo
	// Rule checks a literal value's shape, without the catalog's policy;
	// nil when the value is only ever a secret.
	Rule func(string) error
	// Endpoint marks a URL conncat connects to, which the catalog's
	// EndpointPolicy must allow.
	Endpoint bool
	// Column is the mz_aws_connections column that holds a literal value
	// (for SecretSealed, a marker that a sealed value exists), and
	// SecretColumn the one that holds a referenced secret's ID.
	Column, SecretColumn string
	// Field is where the value goes in a resolved Spec: a *string, or a
	// *time.Duration for a DurationValue. Nil for an option whose value
	// only passes through (to AssumeRole): the Spec holds it in Extra.
	Field func(*Spec) any
	// AssumeRoleInput names the field of STS's AssumeRoleInput that the
	// value is sent in, as it is, on the hop into the customer's role
	// (this package imports no SDK, so by name): awscreds sets a text value
	// as a string, a duration as whole seconds. "" for an option that does
	// not go to AssumeRole as it is (ASSUME ROLE ARN and SESSION NAME are
	// the hop itself; a session name has a default). Such an option holds
	// no secret (Secret is NotSecret): its value travels in plain maps.
	AssumeRoleInput string
	// Example is a value the option's rule accepts, for documentation
	// and for the tests that drive every option end to end.
	Example string
}

// Words is the option's name as lower-case words, as the lexer reads them.
func (d OptionDef) Words() []string { return strings.Fields(strings.ToLower(string(d.Name))) }

// Options is every option conncat accepts, in canonical order: the order
// in which they are printed and stored.
var Options = []OptionDef{
	{Name: AccessKeyID, Scope: ScopeAWS, Value: TextValue, Secret: SecretAllowed, Echo: EchoIfValid,
		Rule: CheckAccessKeyID, Column: "access_key_id", SecretColumn: "access_key_id_secret_id",
		Field: func(s *Spec) any { return &s.AccessKeyID }},
	{Name: SecretAccessKey, Scope: ScopeAWS, Value: TextValue, Secret: SecretRequired, Echo: EchoNever,
		SecretColumn: "secret_access_key_secret_id",
		Field:        func(s *Spec) any { return &s.SecretAccessKey }},
	{Name: SessionToken, Scope: ScopeAWS, Value: TextValue, Secret: SecretSealed, Echo: EchoNever,
		Column: "session_token", SecretColumn: "session_token_secret_id",
		Field: func(s *Spec) any { return &s.SessionToken }},
	{Name: AssumeRoleARN, Scope: ScopeAWS, Value: TextValue, Echo: EchoAlways,
		Rule: func(v string) error { _, err := ParseRoleARN(v); return err }, Column: "assume_role_arn",
		Field: func(s *Spec) any { return &s.RoleARN }},
	{Name: AssumeRoleSessionName, Scope: ScopeAWS, Value: TextValue, Echo: EchoAlways,
		Rule: CheckSessionName, Column: "assume_role_session_name",
		Field: func(s *Spec) any { return &s.SessionName }},
	{Name: AssumeRoleDuration, Scope: ScopeAWS, Value: DurationValue, Echo: EchoAlways,
		Rule: func(v string) error { _, err := ParseDurationText(v); return err }, Column: "assume_role_duration",
		Field: func(s *Spec) any { return &s.Duration }, AssumeRoleInput: "DurationSeconds", Example: "2h"},
	{Name: Region, Scope: ScopeAWS, Value: TextValue, Echo: EchoAlways,
		Rule: CheckRegion, Column: "region",
		Field: func(s *Spec) any { return &s.Region }},
	{Name: Endpoint, Scope: ScopeAWS, Value: TextValue, Echo: EchoWithoutUserinfo,
		Rule: checkEndpointShape, Endpoint: true, Column: "endpoint",
		Field: func(s *Spec) any { return &s.Endpoint }},
	{Name: STSEndpoint, Scope: ScopeAWS, Value: TextValue, Echo: EchoWithoutUserinfo,
		Rule: checkEndpointShape, Endpoint: true, Column: "sts_endpoint",
		Field: func(s *Spec) any { return &s.STSEndpoint }},
	{Name: Prefix, Scope: ScopeS3, Value: TextValue, Echo: EchoAlways, Rule: checkS3URL},
	{Name: S3Path, Scope: ScopeValidate, Value: TextValue, Echo: EchoAlways, Rule: checkS3URL},
}

// AWSOptions lists the AWS connection options in their canonical order.
var AWSOptions = OptionsIn(ScopeAWS)

// OptionsIn lists the names of the options of one scope, in canonical order.
func OptionsIn(scopes ...Scope) []Option {
	var out []Option
	for _, d := range Options {
		for _, s := range scopes {
			if d.Scope == s {
				out = append(out, d.Name)
			}
		}
	}
	return out
}

// LookupOption returns the definition of a named option.
func LookupOption(name Option) (OptionDef, bool) {
	for _, d := range Options {
		if d.Name == name {
			return d, true
		}
	}
	return OptionDef{}, false
}

// CheckValue applies an option's rule to a literal value.
func (d OptionDef) CheckValue(v string) error {
	if d.Rule == nil {
		return nil
	}
	return d.Rule(v)
}

// Echoes reports whether a clean literal value of the option may be shown
// back in the text of a statement that did not parse.
func (d OptionDef) Echoes(v string) bool {
	switch d.Echo {
	case EchoAlways:
		return true
	case EchoWithoutUserinfo:
		return !strings.Contains(v, "@") // user:password@host
	case EchoIfValid:
		return d.CheckValue(v) == nil
	}
	return false
}

// SetField stores a value in the option's Spec field: text for a string
// field, seconds for a duration.
func (d OptionDef) SetField(s *Spec, text string, seconds int64) {
	if d.Field == nil {
		if d.AssumeRoleInput != "" {
			if s.Extra == nil {
				s.Extra = map[Option]string{}
			}
			s.Extra[d.Name] = text
			if d.Value == DurationValue {
				s.Extra[d.Name] = strconv.FormatInt(seconds, 10)
			}
		}
		return
	}
	switch f := d.Field(s).(type) {
	case *string:
		*f = text
	case *time.Duration:
		*f = time.Duration(seconds) * time.Second
	}
}

// InputValue is the option's value in s as its AssumeRole input takes it
// (a duration in whole seconds); ok is false when the option is not set
// or is not an AssumeRole input.
func (d OptionDef) InputValue(s Spec) (value string, ok bool) {
	if d.AssumeRoleInput == "" {
		return "", false
	}
	if d.Field == nil {
		value, ok = s.Extra[d.Name]
		return value, ok
	}
	switch f := d.Field(&s).(type) {
	case *string:
		return *f, *f != ""
	case *time.Duration:
		return strconv.FormatInt(int64(*f/time.Second), 10), *f != 0
	}
	return "", false
}

func checkEndpointShape(v string) error { _, err := ParseEndpoint(v); return err }

func checkS3URL(v string) error { _, err := ParseS3URL(v); return err }

// CheckAccessKeyID catches the commonest mistake, a secret access key
// pasted as the ID (secret keys hold '/' and '+', IDs never do), before it
// would be stored in plain text. The value is not echoed: it may be that
// secret.
func CheckAccessKeyID(s string) error {
	const hint = "An access key ID looks like 'AKIAIOSFODNN7EXAMPLE'. The secret access key goes in a SECRET."
	if s == "" || len(s) > 128 {
		return &RuleError{Reason: "access key ID must be 1 to 128 characters", Hint: hint}
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return &RuleError{Reason: "access key ID may contain only letters, digits and underscores", Hint: hint}
		}
	}
	return nil
}

// ExternalIDHint explains why EXTERNAL ID is not an option anyone may set.
const ExternalIDHint = "conncat generates the external ID for every connection that assumes a role; " +
	"read it from mz_aws_connections.external_id or SHOW TRUST POLICY FOR CONNECTION. " +
	"Letting users choose it would let one customer reuse another's ID (the confused-deputy problem)."

// CheckAuthForm enforces that a connection authenticates in exactly one way:
// static keys (ACCESS KEY ID and SECRET ACCESS KEY, with an optional SESSION
// TOKEN) or a role (ASSUME ROLE ARN, with an optional session name and
// duration). has reports whether an option is present.
func CheckAuthForm(has func(Option) bool) error {
	var keys, role []Option
	for _, o := range []Option{AccessKeyID, SecretAccessKey, SessionToken} {
		if has(o) {
			keys = append(keys, o)
		}
	}
	for _, o := range []Option{AssumeRoleARN, AssumeRoleSessionName, AssumeRoleDuration} {
		if has(o) {
			role = append(role, o)
		}
	}
	const hint = "Give either ACCESS KEY ID with SECRET ACCESS KEY, or ASSUME ROLE ARN."
	switch {
	case len(keys) > 0 && len(role) > 0:
		return ruleErr(hint, "%s cannot be combined with %s: a connection uses either static keys or an assumed role",
			keys[0], role[0])
	case len(keys) == 0 && !has(AssumeRoleARN) && len(role) > 0:
		return ruleErr("Add ASSUME ROLE ARN.", "%s requires ASSUME ROLE ARN", role[0])
	case len(keys) == 0 && len(role) == 0:
		return ruleErr(hint, "an AWS connection needs credentials: either ACCESS KEY ID and SECRET ACCESS KEY, or ASSUME ROLE ARN")
	case len(keys) > 0 && !has(AccessKeyID):
		return ruleErr("Add ACCESS KEY ID.", "%s requires ACCESS KEY ID", keys[0])
	case len(keys) > 0 && !has(SecretAccessKey):
		return ruleErr("Add SECRET ACCESS KEY = SECRET <name>, after CREATE SECRET <name> AS '...'.", "ACCESS KEY ID requires SECRET ACCESS KEY")
	}
	return nil
}
