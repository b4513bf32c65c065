package connection

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseS3URL: no panic, and whatever is accepted is a valid bucket
// and a prefix S3 can store (UTF-8, no control characters, ≤ 1024 bytes)
// that prints back to a URL parsing to the same thing.
func FuzzParseS3URL(f *testing.F) {
	for _, s := range []string{"s3://bucket/p/", "s3://b-1.x/", "s3://bucket", "s3://Bucket/x", "s3://192.168.1.1/x", "s3://a..b/x", "s3://bucket/\x00", "https://bucket/x", "s3://bucket/\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseS3URL(s)
		if err != nil {
			if _, ok := err.(*RuleError); !ok {
				t.Fatalf("error is not a *RuleError: %#v", err)
			}
			return
		}
		if CheckBucketName(u.Bucket) != nil {
			t.Fatalf("accepted bucket %q fails CheckBucketName", u.Bucket)
		}
		if !utf8.ValidString(u.Prefix) || len(u.Prefix) > 1024 || strings.ContainsFunc(u.Prefix, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("accepted prefix %q that S3 cannot store", u.Prefix)
		}
		again, err := ParseS3URL(u.String())
		if err != nil || again != u {
			t.Fatalf("%q printed as %q parses to %+v, %v", s, u.String(), again, err)
		}
	})
}

// FuzzParseARN: no panic, and an accepted ARN prints back exactly and
// keeps IAM's shape (known partition, 12-digit account, role or user).
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::123456789012:role/R", "arn:aws:iam::123456789012:user/team/u", "arn:aws-cn:iam::123456789012:role/a/b/c", "arn:aws:iam:us-east-1:123456789012:role/R", "arn:aws:sts::123456789012:assumed-role/R/s", "arn:aws:iam::12345678901:role/R"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParsePrincipalARN(s)
		if err != nil {
			if _, ok := err.(*RuleError); !ok {
				t.Fatalf("error is not a *RuleError: %#v", err)
			}
			if _, err := ParseRoleARN(s); err == nil {
				t.Fatalf("%q is a role ARN but not a principal ARN", s)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("%q parsed to %+v, which prints as %q", s, a, a.String())
		}
		if !partitions[a.Partition] || len(a.AccountID) != 12 || !allDigits(a.AccountID) || (a.Kind != "role" && a.Kind != "user") || a.Name() == "" {
			t.Fatalf("%q accepted with parts %+v", s, a)
		}
		if _, err := ParseRoleARN(s); (err == nil) != (a.Kind == "role") {
			t.Fatalf("ParseRoleARN(%q) = %v for kind %s", s, err, a.Kind)
		}
	})
}

// FuzzCheckEndpoint: no panic; an accepted endpoint is an absolute
// http(s) URL without credentials, query or fragment, and plain http is
// only ever accepted for loopback unless the policy allows it.
func FuzzCheckEndpoint(f *testing.F) {
	for _, s := range []string{"https://s3.us-east-1.amazonaws.com", "http://127.0.0.1:9000", "http://[::1]:1/", "http://example.com", "https://u:p@h/", "https://h/?q", "https://h:99999", "ftp://h", "//h", "http://localhost"} {
		f.Add(s, false, false)
	}
	f.Add("https://169.254.169.254/latest", true, true)
	f.Fuzz(func(t *testing.T, s string, allowHTTP, publicOnly bool) {
		if err := CheckEndpoint(s, EndpointPolicy{AllowHTTP: allowHTTP, PublicOnly: publicOnly}); err != nil {
			if _, ok := err.(*RuleError); !ok {
				t.Fatalf("error is not a *RuleError: %#v", err)
			}
			return
		}
		u, err := ParseEndpoint(s)
		if err != nil {
			t.Fatalf("CheckEndpoint accepted %q that ParseEndpoint refuses: %v", s, err)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("accepted %q with parts %+v", s, u)
		}
		if u.Scheme == "http" && !allowHTTP && !IsLoopbackHost(u.Hostname()) {
			t.Fatalf("accepted plain http to %q", u.Hostname())
		}
		if publicOnly {
			if ip, err := netip.ParseAddr(u.Hostname()); (err == nil && nonPublic(ip.Unmap()) != "") || strings.EqualFold(u.Hostname(), "localhost") {
				t.Fatalf("public-only policy accepted %q", s)
			}
		}
	})
}
