package connection

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// policyStatement is one statement of an identity or session policy.
type policyStatement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  string         `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// s3Statements are the grants for reading and writing under one prefix of
// a bucket: listing limited to the prefix, the bucket's location and its
// multipart uploads, and object actions on bucket/prefix*. sids names them
// for the customer's reading; a session policy leaves the names out.
func s3Statements(partition, bucket, prefix string, sids bool) []policyStatement {
	bucketARN := "arn:" + partition + ":s3:::" + bucket
	st := []policyStatement{
		{Sid: "ListPrefix", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: bucketARN,
			Condition: map[string]any{"StringLike": map[string][]string{"s3:prefix": {prefix + "*"}}}},
		{Sid: "BucketInfo", Effect: "Allow", Action: []string{"s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}, Resource: bucketARN},
		{Sid: "ObjectsUnderPrefix", Effect: "Allow",
			Action:   []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
			Resource: bucketARN + "/" + prefix + "*"},
	}
	if !sids {
		for i := range st {
			st[i].Sid = ""
		}
	}
	return st
}

// policyJSON encodes a policy compactly and without HTML escaping (a '<'
// in a prefix stays one character, not six).
func policyJSON(statements []policyStatement) string {
	doc := struct {
		Version   string            `json:"Version"`
		Statement []policyStatement `json:"Statement"`
	}{"2012-10-17", statements}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(doc) // strings only: cannot fail
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// PermissionPolicy is the least-privilege IAM policy for reading and
// writing under one prefix of a bucket, with a name for each statement:
// what SHOW PERMISSION POLICY gives the customer to attach to their role.
func PermissionPolicy(partition, bucket, prefix string) string {
	return policyJSON(s3Statements(partition, bucket, prefix, true))
}

// SessionPolicy grants exactly what PermissionPolicy grants, in as few
// characters: the inline session policy of an S3 connection's
// credentials, so that AWS itself refuses whatever lies outside the
// prefix, whatever the customer's role allows.
func SessionPolicy(partition, bucket, prefix string) string {
	return policyJSON(s3Statements(partition, bucket, prefix, false))
}

// MaxSessionPolicyChars is AssumeRole's limit on an inline session
// policy, in characters.
const MaxSessionPolicyChars = 2048

// longestPartition is the partition with the longest name: a prefix is
// checked against it, so an S3 connection stays valid whatever role (in
// whatever partition) its AWS connection is altered to.
const longestPartition = "aws-us-gov"

// checkSessionPolicyFits refuses a bucket and prefix whose session
// policy would exceed AssumeRole's limit.
func checkSessionPolicyFits(bucket, prefix string) error {
	n := utf8.RuneCountInString(SessionPolicy(longestPartition, bucket, prefix))
	if n <= MaxSessionPolicyChars {
		return nil
	}
	shorten := (n - MaxSessionPolicyChars + 1) / 2 // the prefix appears twice
	unit := "characters"
	if shorten == 1 {
		unit = "character"
	}
	return ruleErr(fmt.Sprintf("Shorten the prefix by at least %d %s : the policy names it twice.", shorten, unit),
		"the session policy for prefix %q would be %d characters, over AssumeRole's limit of %d: AWS could not limit the connection's credentials to it",
		truncateForMessage(prefix), n, MaxSessionPolicyChars)
}

// truncateForMessage shortens a long value for an error message.
func truncateForMessage(s string) string {
	const keep = 60
	if utf8.RuneCountInString(s) <= keep {
		return s
	}
	return string([]rune(s)[:keep]) + "…"
}

// PartitionOf is the partition of a role ARN: "aws" for one that does not
// parse (static keys have none; their policies are for the commercial
// partition).
func PartitionOf(roleARN string) string {
	if a, err := ParseRoleARN(roleARN); err == nil {
		return a.Partition
	}
	return "aws"
}
