package connection

import (
	"strings"
	"testing"
	"time"
)

func TestParseRoleARN(t *testing.T) {
	ok := map[string]ARN{
		"arn:aws:iam::001234567890:role/MaterializeConn":     {Partition: "aws", AccountID: "001234567890", Kind: "role", Resource: "MaterializeConn"},
		"arn:aws-us-gov:iam::123456789012:role/a/b/C+=,.@_-": {Partition: "aws-us-gov", AccountID: "123456789012", Kind: "role", Resource: "a/b/C+=,.@_-"},
		"arn:aws-cn:iam::123456789012:role/service-role/x":   {Partition: "aws-cn", AccountID: "123456789012", Kind: "role", Resource: "service-role/x"},
	}
	for s, want := range ok {
		got, err := ParseRoleARN(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseRoleARN(%q) = %+v, %v", s, got, err)
		}
	}
	bad := map[string]string{
		"":                                                          "is not an ARN",
		"arn:aws:iam::123456789012":                                 "is not an ARN",
		"arn:aws:iam::123456789012:user/alice":                      "not the ARN of an IAM role",
		"arn:aws:iam::123456789012:role/":                           "name must be 1 to 64",
		"arn:aws:iam::1234567890123:role/R":                         "want 12 digits",
		"arn:aws:iam::12345678901a:role/R":                          "want 12 digits",
		"arn:mars:iam::123456789012:role/R":                         "unknown partition",
		"arn:aws:sts::123456789012:role/R":                          "not an IAM ARN",
		"arn:aws:iam:eu-west-1:123456789012:role/R":                 "must not name a region",
		"arn:aws:iam::123456789012:role/" + strings.Repeat("n", 65): "name must be 1 to 64",
		"arn:aws:iam::123456789012:role/a b/R":                      "path contains",
	}
	for s, want := range bad {
		if _, err := ParseRoleARN(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRoleARN(%q) error = %v, want one containing %q", s, err, want)
		}
	}
	if a, err := ParsePrincipalARN("arn:aws:iam::123456789012:user/ops/conncat"); err != nil || a.Kind != "user" || a.Name() != "conncat" {
		t.Errorf("ParsePrincipalARN(user) = %+v, %v", a, err)
	}
}

func TestCheckRegion(t *testing.T) {
	for _, s := range []string{"us-east-1", "eu-central-2", "minio", "us-gov-west-1", "cn-north-1"} {
		if err := CheckRegion(s); err != nil {
			t.Errorf("CheckRegion(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "US-EAST-1", "1us", "us_east_1", "us east", strings.Repeat("a", 65)} {
		if err := CheckRegion(s); err == nil {
			t.Errorf("CheckRegion(%q) accepted", s)
		}
	}
}

func TestSessionNames(t *testing.T) {
	for _, s := range []string{"ab", "conncat-prod-u1", "a+=,.@_-", strings.Repeat("x", 64)} {
		if err := CheckSessionName(s); err != nil {
			t.Errorf("CheckSessionName(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "a", strings.Repeat("x", 65), "has space", "slash/no", "ünï"} {
		if err := CheckSessionName(s); err == nil {
			t.Errorf("CheckSessionName(%q) accepted", s)
		}
	}
	// Whatever goes in, SanitizeSessionName's result passes the check.
	for _, s := range []string{"", "x", "conncat-my catalog/with:odd chars-u12", strings.Repeat("ü", 80)} {
		if got := SanitizeSessionName(s); CheckSessionName(got) != nil {
			t.Errorf("SanitizeSessionName(%q) = %q, which is invalid", s, got)
		}
	}
}

func TestDurations(t *testing.T) {
	ok := map[string]time.Duration{"900": 15 * time.Minute, "1h": time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute, "43200s": 12 * time.Hour, "12h": 12 * time.Hour}
	for s, want := range ok {
		if got, err := ParseDurationText(s); err != nil || got != want {
			t.Errorf("ParseDurationText(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"899", "14m", "12h1s", "1.5s", "-1h", "soon", "", "99999999999999999999"} {
		if _, err := ParseDurationText(s); err == nil {
			t.Errorf("ParseDurationText(%q) accepted", s)
		}
	}
	if _, err := DurationFromSeconds(1 << 62); err == nil {
		t.Error("DurationFromSeconds accepted an overflowing value")
	}
	if CheckChainedDuration(time.Hour) != nil || CheckChainedDuration(time.Hour+time.Second) == nil {
		t.Error("chained duration limit is not one hour")
	}
}

func TestEndpoints(t *testing.T) {
	for _, tc := range []struct {
		url    string
		policy EndpointPolicy
		ok     bool
	}{
		{"https://s3.us-east-1.amazonaws.com", EndpointPolicy{}, true},
		{"https://sts.example.com:8443/base/", EndpointPolicy{}, true},
		{"http://127.0.0.1:9000", EndpointPolicy{}, true},
		{"http://localhost:5000", EndpointPolicy{}, true},
		{"http://[::1]:5000", EndpointPolicy{}, true},
		{"http://minio.internal:9000", EndpointPolicy{}, false},
		{"http://minio.internal:9000", EndpointPolicy{AllowHTTP: true}, true},
		{"s3.amazonaws.com", EndpointPolicy{}, false},
		{"ftp://example.com", EndpointPolicy{}, false},
		{"https://u:p@example.com", EndpointPolicy{}, false},
		{"https://example.com/?x=1", EndpointPolicy{}, false},
		{"https://example.com:0", EndpointPolicy{}, false},
		{"https://", EndpointPolicy{}, false},
	} {
		err := CheckEndpoint(tc.url, tc.policy)
		if (err == nil) != tc.ok {
			t.Errorf("CheckEndpoint(%q, %+v) = %v, want ok=%v", tc.url, tc.policy, err, tc.ok)
		}
	}
}

func TestParseS3URL(t *testing.T) {
	ok := map[string]S3URL{
		"s3://my-bucket":             {Bucket: "my-bucket"},
		"s3://my-bucket/":            {Bucket: "my-bucket"},
		"s3://my.bucket/a/b/":        {Bucket: "my.bucket", Prefix: "a/b/"},
		"s3://abc/with space/ü/":     {Bucket: "abc", Prefix: "with space/ü/"},
		"s3://prefix-bucket/x.conn/": {Bucket: "prefix-bucket", Prefix: "x.conn/"},
		"s3://b-1/..a/a../":          {Bucket: "b-1", Prefix: "..a/a../"},
	}
	for s, want := range ok {
		if got, err := ParseS3URL(s); err != nil || got != want {
			t.Errorf("ParseS3URL(%q) = %+v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "s3://", "s3://ab", "s3://Upper", "s3://-start", "s3://end-", "s3://a..b", "s3://10.0.0.1", "S3://bucket", "https://bucket/x", "s3://bucket/\x01", "s3://bucket/" + strings.Repeat("k", 1025), "s3://" + strings.Repeat("b", 64),
		// IAM wildcards and variables could not be scoped by the policy.
		"s3://bucket/a*/", "s3://bucket/a?/", "s3://bucket/${aws:username}/",
		// A prefix ending mid-name would match tenant-ab/... too.
		"s3://bucket/tenant-a",
		// Segments that leave where they are put.
		"s3://bucket/a/../b/", "s3://bucket/./a/", "s3://bucket//a/", "s3://bucket/a//b/", "s3://bucket/a\\b/", "s3://bucket/\u0085/"} {
		if _, err := ParseS3URL(s); err == nil {
			t.Errorf("ParseS3URL(%q) accepted", s)
		}
	}
}

func TestCheckAuthForm(t *testing.T) {
	has := func(opts ...Option) func(Option) bool {
		return func(o Option) bool {
			for _, x := range opts {
				if x == o {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		opts []Option
		err  string
	}{
		{[]Option{AccessKeyID, SecretAccessKey}, ""},
		{[]Option{AccessKeyID, SecretAccessKey, SessionToken, Region}, ""},
		{[]Option{AssumeRoleARN, AssumeRoleSessionName, AssumeRoleDuration}, ""},
		{nil, "needs credentials"},
		{[]Option{Region}, "needs credentials"},
		{[]Option{AccessKeyID}, "requires SECRET ACCESS KEY"},
		{[]Option{SecretAccessKey}, "requires ACCESS KEY ID"},
		{[]Option{SessionToken}, "requires ACCESS KEY ID"},
		{[]Option{AssumeRoleDuration}, "requires ASSUME ROLE ARN"},
		{[]Option{AccessKeyID, SecretAccessKey, AssumeRoleARN}, "cannot be combined"},
	} {
		err := CheckAuthForm(has(tc.opts...))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CheckAuthForm(%v) = %v, want %q", tc.opts, err, tc.err)
		}
	}
}

func TestCheckExternalIDPrefix(t *testing.T) {
	if err := CheckExternalIDPrefix("acme:prod/"); err != nil {
		t.Error(err)
	}
	for _, p := range []string{"has space", "semi;colon", strings.Repeat("x", MaxExternalIDPrefixLen+1)} {
		if CheckExternalIDPrefix(p) == nil {
			t.Errorf("CheckExternalIDPrefix(%q) accepted", p)
		}
	}
}

func TestCheckAWSRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-central-2", "ap-southeast-7", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "eusc-de-east-1", "mx-central-1", "il-central-1"} {
		if err := CheckAWSRegion(r); err != nil {
			t.Errorf("CheckAWSRegion(%q) = %v", r, err)
		}
	}
	for _, r := range []string{"us-east1", "us-east-1a", "us-nowhere-9", "minio", "us-east-0", "useast-1", "US-EAST-1", ""} {
		if err := CheckAWSRegion(r); err == nil {
			t.Errorf("CheckAWSRegion(%q) accepted", r)
		}
	}
}
