package connection

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

// AWSOptions lists the AWS connection options in their canonical order,
// the order in which they are printed.
var AWSOptions = []Option{
	AccessKeyID, SecretAccessKey, SessionToken,
	AssumeRoleARN, AssumeRoleSessionName, AssumeRoleDuration,
	Region, Endpoint, STSEndpoint,
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
