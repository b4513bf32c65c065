package validate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/conncat/conncat/connection"
)

func TestClassifyCodes(t *testing.T) {
	assume := Op{Action: "sts:AssumeRole", Resource: "arn:aws:iam::123456789012:role/R", Caller: "arn:aws:iam::210987654321:user/engine",
		Conn: "aws_conn", ExternalID: "conncat-1", Region: "eu-west-1"}
	put := Op{Action: "s3:PutObject", Resource: "s3://b/p/.x", Grant: "s3://b/p/*", Conn: "s3_conn", Region: "us-east-1"}
	for _, tc := range []struct {
		op        Op
		err       error
		code      string
		inMessage string
		inHint    string
		retryable bool
	}{
		{assume, &smithy.GenericAPIError{Code: "AccessDenied"}, "AccessDenied", "refused to let arn:aws:iam::210987654321:user/engine assume", `sts:ExternalId "conncat-1"`, false},
		{assume, &smithy.GenericAPIError{Code: "RegionDisabledException"}, "RegionDisabledException", "not activated in region eu-west-1", "STS ENDPOINT", false},
		{assume, &smithy.GenericAPIError{Code: "ExpiredToken"}, "ExpiredToken", "expired", "ASSUME ROLE ARN", false},
		{assume, &smithy.GenericAPIError{Code: "Throttling"}, "Throttling", "throttled", "Retry", true},
		{assume, &smithy.GenericAPIError{Code: "PackedPolicyTooLarge", Message: "Packed size 112%"}, "PackedPolicyTooLarge", "packed limit (Packed size 112%)", "packed_policy_size", false},
		{Op{Action: "s3:PutObject", Resource: "s3://b/other/x", Conn: "lake", OutsideScope: "s3://b/p/"}, &smithy.GenericAPIError{Code: "AccessDenied"},
			"AccessDenied", "outside s3://b/p/, where connection lake's credentials are limited", "session policy", false},
		{put, &smithy.GenericAPIError{Code: "AccessDenied"}, "AccessDenied", "access denied for s3:PutObject on s3://b/p/.x", "arn:aws:s3:::b/p/*", false},
		{put, &smithy.GenericAPIError{Code: "NoSuchBucket"}, "NoSuchBucket", "does not exist", "bucket name", false},
		{put, &smithy.GenericAPIError{Code: "PermanentRedirect", Message: "the region 'us-east-1' is wrong; expecting 'ap-south-1'"}, "PermanentRedirect", "in region ap-south-1", "SET (REGION = 'ap-south-1')", false},
		{put, &smithy.GenericAPIError{Code: "SlowDown"}, "SlowDown", "throttled", "", true},
		{put, fmt.Errorf("wrapped: %w", context.DeadlineExceeded), "timeout", "did not answer in time", "", true},
		{put, &connection.BlockedAddressError{Address: "10.0.0.1:443", Reason: "private"}, "blocked-address", "private addresses", "public host", false},
	} {
		p := Classify(tc.op, tc.err)
		if p.Code != tc.code || !strings.Contains(p.Message, tc.inMessage) || !strings.Contains(p.Hint, tc.inHint) || p.Retryable != tc.retryable {
			t.Errorf("Classify(%s, %v) = %+v; want code %s, message with %q, hint with %q, retryable %v",
				tc.op.Action, tc.err, p, tc.code, tc.inMessage, tc.inHint, tc.retryable)
		}
	}
}
