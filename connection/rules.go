// Package connection is the AWS connection model: the options a connection
// may carry, the rules their values must obey, the role chain a connection
// plans (Hops) and the dialer's address guard. It imports no AWS SDK
// package, so the parser can use it; the credential providers and the
// cache built from a connection live in package credentials.
//
// The value rules in this file are pure functions with no network access.
// They are the single source of truth for what a well-formed role ARN,
// region, session name, duration, endpoint or S3 URL is: the SQL parser calls
// them at parse time and the catalog calls them again when an ALTER changes a
// connection, so a value can never be accepted by one and refused by the other.
package connection

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// RuleError reports a value that breaks one of the rules in this package.
// It never contains a secret: rules are only applied to values that are not
// secret (ARNs, regions, names, URLs, durations).
type RuleError struct {
	// Reason says what is wrong with the value, in words a user understands.
	Reason string
	// Hint, when set, says what a valid value looks like.
	Hint string
}

func (e *RuleError) Error() string { return e.Reason }

func ruleErr(hint, format string, args ...any) *RuleError {
	return &RuleError{Reason: fmt.Sprintf(format, args...), Hint: hint}
}

// Duration limits for sts:AssumeRole. AWS accepts 900 s to the role's
// maximum session duration (at most 12 h); a chained session (a role
// assuming a role) is capped at one hour whatever the role allows.
const (
	MinAssumeRoleDuration     = 15 * time.Minute
	MaxAssumeRoleDuration     = 12 * time.Hour
	MaxChainedAssumeDuration  = time.Hour
	DefaultAssumeRoleDuration = time.Hour
)

// ARN is a parsed IAM principal ARN: arn:<partition>:iam::<account>:<kind>/<path/name>.
type ARN struct {
	Partition string
	AccountID string
	// Kind is "role" or "user".
	Kind string
	// Resource is what follows "<kind>/", path included (e.g. "team/Writer").
	Resource string
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":iam::" + a.AccountID + ":" + a.Kind + "/" + a.Resource
}

// Name is the last element of the resource path, the principal's own name.
func (a ARN) Name() string {
	if i := strings.LastIndexByte(a.Resource, '/'); i >= 0 {
		return a.Resource[i+1:]
	}
	return a.Resource
}

const arnHint = "An IAM role ARN looks like 'arn:aws:iam::123456789012:role/MyRole'; copy it from the role's summary page in the IAM console."

var partitions = map[string]bool{"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true, "aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true}

// ParsePrincipalARN parses the ARN of an IAM role or user.
func ParsePrincipalARN(s string) (ARN, error) {
	return parseIAMARN(s, "role", "user")
}

// ParseRoleARN parses the ARN of an IAM role, the only thing AssumeRole takes.
func ParseRoleARN(s string) (ARN, error) {
	return parseIAMARN(s, "role")
}

func parseIAMARN(s string, kinds ...string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, ruleErr(arnHint, "%q is not an ARN", s)
	}
	a := ARN{Partition: parts[1], AccountID: parts[4]}
	if !partitions[a.Partition] {
		return ARN{}, ruleErr(arnHint, "%q has unknown partition %q", s, a.Partition)
	}
	if parts[2] != "iam" {
		return ARN{}, ruleErr(arnHint, "%q is not an IAM ARN (service is %q, want \"iam\")", s, parts[2])
	}
	if parts[3] != "" {
		return ARN{}, ruleErr(arnHint, "%q must not name a region: IAM is global", s)
	}
	if len(a.AccountID) != 12 || !allDigits(a.AccountID) {
		return ARN{}, ruleErr(arnHint, "%q has account ID %q, want 12 digits", s, a.AccountID)
	}
	kind, resource, ok := strings.Cut(parts[5], "/")
	if !ok || !contains(kinds, kind) {
		return ARN{}, ruleErr(arnHint, "%q is not the ARN of an IAM %s", s, strings.Join(kinds, " or "))
	}
	a.Kind, a.Resource = kind, resource
	if err := checkIAMPathAndName(resource); err != nil {
		return ARN{}, ruleErr(arnHint, "%q: %s", s, err.Reason)
	}
	return a, nil
}

// checkIAMPathAndName applies IAM's rules: names of 1-64 characters of
// [\w+=,.@-], paths of segments of printable ASCII without '/' inside, and a
// whole path of at most 512 characters.
func checkIAMPathAndName(resource string) *RuleError {
	if len(resource) > 512 {
		return ruleErr("", "path and name are longer than 512 characters")
	}
	name := resource
	if i := strings.LastIndexByte(resource, '/'); i >= 0 {
		name = resource[i+1:]
		for _, c := range resource[:i] {
			if c < 0x21 || c > 0x7e {
				return ruleErr("", "path contains %q, which IAM does not allow", c)
			}
		}
	}
	if name == "" || len(name) > 64 {
		return ruleErr("", "name must be 1 to 64 characters")
	}
	if c, ok := firstOutside(name, isIAMNameChar); ok {
		return ruleErr("", "name contains %q; IAM names allow letters, digits and +=,.@_-", c)
	}
	return nil
}

func isIAMNameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("+=,.@_-", c)
}

// CheckRegion checks a region's shape only: lower-case letters, digits and
// dashes, starting with a letter. The shape is all that can be checked
// offline, and S3-compatible stores use names such as "minio" or "garage".
func CheckRegion(s string) error {
	const hint = "A region looks like 'us-east-1'."
	if s == "" || len(s) > 64 {
		return ruleErr(hint, "region must be 1 to 64 characters")
	}
	if s[0] < 'a' || s[0] > 'z' {
		return ruleErr(hint, "region %q must start with a lower-case letter", s)
	}
	if c, ok := firstOutside(s, func(c rune) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' }); ok {
		return ruleErr(hint, "region %q contains %q; regions are lower-case letters, digits and dashes", s, c)
	}
	return nil
}

// awsRegion is the shape of an AWS region name: a partition prefix (us,
// eu, ap, cn, ...; us-gov, us-iso, eusc-de, ...), a direction, a number.
// An availability zone ("us-east-1a") or a typo ("us-east1") does not fit.
var awsRegion = regexp.MustCompile(`^[a-z]{2,4}(-(gov|iso|isob|isof|isoe|de))?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-[1-9][0-9]?$`)

// CheckAWSRegion checks that a region has the shape of AWS's, for a
// connection that talks to AWS itself (no ENDPOINT): a typo would
// otherwise surface only at VALIDATE, as an unreachable endpoint.
func CheckAWSRegion(s string) error {
	if awsRegion.MatchString(s) {
		return nil
	}
	return ruleErr("AWS regions look like 'us-east-1' or 'eu-central-2'; an availability zone ('us-east-1a') is not a region. "+
		"With ENDPOINT set (MinIO and other S3-compatible stores) any region name is accepted.",
		"%q is not an AWS region", s)
}

// MinSessionNameLen and MaxSessionNameLen are STS's bounds on RoleSessionName.
const (
	MinSessionNameLen = 2
	MaxSessionNameLen = 64
)

// CheckSessionName checks an AssumeRole session name: 2 to 64 characters of [\w+=,.@-].
func CheckSessionName(s string) error {
	const hint = "Session names are 2 to 64 characters of letters, digits and +=,.@_-."
	if len(s) < MinSessionNameLen || len(s) > MaxSessionNameLen {
		return ruleErr(hint, "session name %q must be 2 to 64 characters, not %d", s, len(s))
	}
	if c, ok := firstOutside(s, isIAMNameChar); ok {
		return ruleErr(hint, "session name %q contains %q", s, c)
	}
	return nil
}

// CheckSourceIdentity checks a value for AssumeRole's SourceIdentity: 2 to
// 64 of the characters of session names, not starting with "aws:".
func CheckSourceIdentity(s string) error {
	const hint = "A source identity is 2 to 64 characters of letters, digits and +=,.@_-, not starting with aws:."
	if len(s) < MinSessionNameLen || len(s) > MaxSessionNameLen {
		return ruleErr(hint, "source identity %q must be 2 to 64 characters, not %d", s, len(s))
	}
	if c, ok := firstOutside(s, isIAMNameChar); ok {
		return ruleErr(hint, "source identity %q contains %q", s, c)
	}
	if strings.HasPrefix(strings.ToLower(s), "aws:") {
		return ruleErr(hint, "source identity %q starts with aws:, which AWS reserves", s)
	}
	return nil
}

// SanitizeSessionName turns any string into a valid session name: characters
// STS refuses become '-', and the result is cut to MaxSessionNameLen and
// padded to MinSessionNameLen. It is for names conncat builds itself.
func SanitizeSessionName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isIAMNameChar(rune(c)) {
			b[i] = '-'
		}
	}
	if len(b) > MaxSessionNameLen {
		b = b[:MaxSessionNameLen]
	}
	for len(b) < MinSessionNameLen {
		b = append(b, '-')
	}
	return string(b)
}

const durationHint = "Give seconds (900 to 43200) or a duration such as '1h' or '90m'."

// ParseDurationText parses an ASSUME ROLE DURATION written as a string:
// a Go-style duration ('1h', '90m', '1h30m', '3600s') or plain seconds ('3600').
// The result is checked with CheckAssumeRoleDuration.
func ParseDurationText(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return DurationFromSeconds(n)
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, ruleErr(durationHint, "%q is not a duration", s)
	}
	if d%time.Second != 0 {
		return 0, ruleErr(durationHint, "duration %q is not a whole number of seconds", s)
	}
	return d, CheckAssumeRoleDuration(d)
}

// DurationFromSeconds converts and checks a duration given as seconds.
func DurationFromSeconds(n int64) (time.Duration, error) {
	if n < 0 || n > int64(MaxAssumeRoleDuration/time.Second)*10 {
		return 0, ruleErr(durationHint, "duration of %d seconds is outside 900 to 43200 seconds", n)
	}
	d := time.Duration(n) * time.Second
	return d, CheckAssumeRoleDuration(d)
}

// CheckAssumeRoleDuration checks STS's bounds for a session: 15 minutes to 12 hours.
func CheckAssumeRoleDuration(d time.Duration) error {
	if d < MinAssumeRoleDuration || d > MaxAssumeRoleDuration {
		return ruleErr(durationHint, "duration of %d seconds is outside 900 to 43200 seconds", int64(d/time.Second))
	}
	return nil
}

// CheckChainedDuration applies the one-hour limit AWS puts on a role session
// obtained with another role's credentials (role chaining).
func CheckChainedDuration(d time.Duration) error {
	if d > MaxChainedAssumeDuration {
		return ruleErr("AWS limits a role session obtained with another role's credentials (role chaining) to 1 hour; use 3600 or less.",
			"duration of %d seconds exceeds the 3600-second limit for chained role sessions", int64(d/time.Second))
	}
	return nil
}

// EndpointPolicy says which endpoint URLs a catalog accepts beyond the
// shape rules: plain http is refused for non-loopback hosts unless AllowHTTP.
type EndpointPolicy struct {
	AllowHTTP bool
	// PublicOnly refuses, at DDL time, endpoints whose host is "localhost"
	// or an IP literal that is not public (loopback, private, link-local —
	// the instance metadata service at 169.254.169.254 — CGNAT, ...). Names
	// that resolve to such addresses are caught when dialled
	// (PublicAddressesOnly); this catches the obvious cases with an error at
	// the statement that names them.
	PublicOnly bool
}

// ParseEndpoint checks the shape of an ENDPOINT or STS ENDPOINT: an absolute
// http(s) URL with a host, no user info, query or fragment. Whether plain
// http is acceptable depends on the catalog, so that is CheckEndpoint's job.
func ParseEndpoint(s string) (*url.URL, error) {
	const hint = "An endpoint is an absolute URL such as 'https://s3.us-east-1.amazonaws.com'."
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return nil, ruleErr(hint, "endpoint %q is not an absolute URL", s)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, ruleErr(hint, "endpoint %q has scheme %q; only https and http are allowed", s, u.Scheme)
	}
	if u.User != nil {
		return nil, ruleErr("Credentials belong in the connection's options, never in a URL.", "endpoint must not contain user information")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, ruleErr(hint, "endpoint %q must not have a query or fragment", s)
	}
	if u.Port() != "" {
		if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
			return nil, ruleErr(hint, "endpoint %q has an invalid port", s)
		}
	}
	return u, nil
}

// CheckEndpoint applies ParseEndpoint and then the catalog's policy: plain
// http only for loopback hosts (a local emulator) or when the policy allows it,
// because credentials signed over http can be replayed by anyone on the path.
func CheckEndpoint(s string, policy EndpointPolicy) error {
	u, err := ParseEndpoint(s)
	if err != nil {
		return err
	}
	if policy.PublicOnly {
		if strings.EqualFold(u.Hostname(), "localhost") {
			return ruleErr("This catalog only accepts endpoints on the public internet.", "endpoint %q names this machine (localhost)", s)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			if reason := nonPublic(ip.Unmap()); reason != "" {
				return ruleErr("This catalog only accepts endpoints on the public internet.", "endpoint %q is a %s address", s, reason)
			}
		}
	}
	if u.Scheme == "http" && !policy.AllowHTTP && !IsLoopbackHost(u.Hostname()) {
		return ruleErr("Use https, or, for test setups only, allow plain http: the REPL's -allow-http-endpoints flag, conncat.WithPlainHTTPEndpoints() in Go.",
			"endpoint %q uses plain http to a host that is not loopback", s)
	}
	return nil
}

// IsLoopbackHost reports whether host names this machine: "localhost" or a
// loopback IP literal. It does not resolve names.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// S3URL is a parsed s3://bucket/prefix URL.
type S3URL struct {
	Bucket string
	// Prefix is the key prefix without the leading slash; it may be empty.
	Prefix string
}

func (u S3URL) String() string { return "s3://" + u.Bucket + "/" + u.Prefix }

// ParseS3URL parses and checks s3://bucket[/prefix]. Bucket names follow
// S3's rules for new buckets: 3-63 characters of lower-case letters, digits,
// dots and dashes, starting and ending with a letter or digit, not shaped
// like an IP address.
func ParseS3URL(s string) (S3URL, error) {
	const hint = "An S3 URL looks like 's3://my-bucket/some/prefix/'."
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return S3URL{}, ruleErr(hint, "%q is not an s3:// URL", s)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if err := CheckBucketName(bucket); err != nil {
		return S3URL{}, err
	}
	if len(prefix) > MaxS3KeyLen {
		return S3URL{}, ruleErr(hint, "prefix is longer than S3's 1024-byte key limit")
	}
	if !utf8.ValidString(prefix) {
		// S3 keys are UTF-8; a prefix that is not could never match a key.
		return S3URL{}, ruleErr(hint, "prefix is not valid UTF-8")
	}
	if err := checkKeyChars(prefix); err != nil {
		return S3URL{}, ruleErr(hint, "prefix %v", err)
	}
	if strings.ContainsAny(prefix, "*?$") {
		return S3URL{}, ruleErr("IAM policies read '*' and '?' as wildcards and '${...}' as a variable, so the permission policy could not be limited to this prefix. Choose a prefix without them.",
			"prefix %q contains '*', '?' or '$'", prefix)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return S3URL{}, ruleErr("End the prefix with '/': 's3://"+bucket+"/"+prefix+"/'. A prefix that ends mid-name would also match every key that merely starts with the same letters, such as "+prefix+"-other/....",
			"prefix %q does not end with '/'", prefix)
	}
	if err := checkKeySegments(strings.TrimSuffix(prefix, "/")); prefix != "" && err != nil {
		return S3URL{}, ruleErr(hint, "prefix %q %v", prefix, err)
	}
	if err := checkSessionPolicyFits(bucket, prefix); err != nil {
		return S3URL{}, err
	}
	return S3URL{Bucket: bucket, Prefix: prefix}, nil
}

// MaxS3KeyLen is S3's limit on an object key, in bytes.
const MaxS3KeyLen = 1024

// checkKeyChars refuses what no object key under a connection may hold:
// control characters and the backslash, which tools that map keys to
// paths read as a separator ("..\x").
func checkKeyChars(s string) error {
	for _, c := range s {
		switch {
		case c < 0x20 || c == 0x7f || c >= 0x80 && c <= 0x9f:
			return fmt.Errorf("contains the control character %U", c)
		case c == '\\':
			return errors.New("contains a backslash")
		}
	}
	return nil
}

// checkKeySegments refuses a path whose segments could leave where it is
// put: "." and "..", and empty segments ("a//b", a leading "/").
func checkKeySegments(path string) error {
	for _, seg := range strings.Split(path, "/") {
		switch seg {
		case "":
			return errors.New("has an empty segment (a leading '/' or '//')")
		case ".", "..":
			return fmt.Errorf("has a %q segment", seg)
		}
	}
	return nil
}

// CheckObjectName checks a name that goes under a prefix (S3Location.Key):
// valid UTF-8, no control characters or backslash, no ".", ".." or empty
// segments, and with the prefix within S3's key length.
func CheckObjectName(prefix, name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case !utf8.ValidString(name):
		return errors.New("the name is not valid UTF-8")
	case len(prefix)+len(name) > MaxS3KeyLen:
		return fmt.Errorf("the key would be %d bytes, over S3's %d", len(prefix)+len(name), MaxS3KeyLen)
	}
	if err := checkKeyChars(name); err != nil {
		return fmt.Errorf("the name %w", err)
	}
	if err := checkKeySegments(strings.TrimSuffix(name, "/")); err != nil {
		return fmt.Errorf("the name %w", err)
	}
	return nil
}

// CheckBucketName applies S3's naming rules for general purpose buckets.
func CheckBucketName(b string) error {
	const hint = "Bucket names are 3 to 63 lower-case letters, digits, dots and dashes, starting and ending with a letter or digit."
	if len(b) < 3 || len(b) > 63 {
		return ruleErr(hint, "bucket name %q must be 3 to 63 characters", b)
	}
	if c, ok := firstOutside(b, func(c rune) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' }); ok {
		return ruleErr(hint, "bucket name %q contains %q", b, c)
	}
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return ruleErr(hint, "bucket name %q must start and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") {
		return ruleErr(hint, "bucket name %q contains two adjacent dots", b)
	}
	if net.ParseIP(b) != nil {
		return ruleErr(hint, "bucket name %q is shaped like an IP address", b)
	}
	return nil
}

// MaxExternalIDLen is STS's limit on ExternalId; MaxExternalIDPrefixLen
// leaves room for the 36-character UUID conncat appends.
const (
	MaxExternalIDLen       = 1224
	MaxExternalIDPrefixLen = MaxExternalIDLen - 36
)

// CheckExternalIDPrefix checks an operator's external-ID prefix against the
// pattern STS applies to ExternalId ([\w+=,.@:/-]*).
func CheckExternalIDPrefix(p string) error {
	if len(p) > MaxExternalIDPrefixLen {
		return ruleErr("", "external ID prefix is longer than %d characters", MaxExternalIDPrefixLen)
	}
	if c, ok := firstOutside(p, func(c rune) bool { return isIAMNameChar(c) || c == ':' || c == '/' }); ok {
		return ruleErr("External IDs allow letters, digits and +=,.@:/_-.", "external ID prefix contains %q", c)
	}
	return nil
}

func firstOutside(s string, ok func(rune) bool) (rune, bool) {
	for _, c := range s {
		if !ok(c) {
			return c, true
		}
	}
	return 0, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
