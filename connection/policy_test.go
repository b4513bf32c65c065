package connection

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestSessionPolicyGrantsWhatThePermissionPolicyGrants: the session
// policy is the shown policy without statement names, nothing more or
// less, and it is compact.
func TestSessionPolicyGrantsWhatThePermissionPolicyGrants(t *testing.T) {
	type doc struct {
		Version   string
		Statement []map[string]any
	}
	var shown, session doc
	if err := json.Unmarshal([]byte(PermissionPolicy("aws", "lake", "team <a>/")), &shown); err != nil {
		t.Fatal(err)
	}
	text := SessionPolicy("aws", "lake", "team <a>/")
	if err := json.Unmarshal([]byte(text), &session); err != nil {
		t.Fatal(err)
	}
	for _, st := range shown.Statement {
		delete(st, "Sid")
	}
	if !reflect.DeepEqual(shown, session) {
		t.Fatalf("session policy %s grants otherwise than the permission policy", text)
	}
	if strings.ContainsAny(text, " \n") && !strings.Contains(text, "team <a>/") || strings.Contains(text, `\u003c`) {
		t.Fatalf("session policy not compact, or escaped: %s", text)
	}
}

// TestPrefixMustFitTheSessionPolicy: ParseS3URL refuses a prefix whose
// session policy AssumeRole would refuse, with a hint that says by how
// much, in any partition; the longest prefix that fits is accepted.
func TestPrefixMustFitTheSessionPolicy(t *testing.T) {
	bucket := strings.Repeat("b", 63)
	fits := ""
	for seg := "p/"; ; {
		next := fits + seg
		if utf8.RuneCountInString(SessionPolicy(longestPartition, bucket, next)) > MaxSessionPolicyChars {
			break
		}
		fits = next
	}
	if _, err := ParseS3URL("s3://" + bucket + "/" + fits); err != nil {
		t.Fatalf("a prefix of %d characters that fits: %v", len(fits), err)
	}
	for _, partition := range []string{"aws", "aws-cn", "aws-us-gov", "aws-iso-b"} {
		if n := utf8.RuneCountInString(SessionPolicy(partition, bucket, fits)); n > MaxSessionPolicyChars {
			t.Fatalf("partition %s: %d characters", partition, n)
		}
	}
	_, err := ParseS3URL("s3://" + bucket + "/" + fits + "p/")
	var re *RuleError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "2048") || !strings.Contains(re.Hint, "Shorten the prefix by at least 2 characters") {
		t.Fatalf("a prefix two characters too long: %v", err)
	}
	t.Logf("longest prefix with a 63-character bucket: %d characters", len(fits))
}
