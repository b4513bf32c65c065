package validate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/conncat/conncat/connection"
)

// Problem is an AWS error explained: what went wrong in words a customer
// understands, what to change, and whether trying again can help.
type Problem struct {
	// Code is the AWS error code when there is one ("AccessDenied"), else
	// a short conncat name ("timeout", "unreachable", "http-403").
	Code      string
	Message   string
	Hint      string
	Retryable bool
}

// Op says what was being attempted, so the classifier can say which
// policy and which resource matter.
type Op struct {
	// Action is the IAM action: "sts:AssumeRole", "sts:GetCallerIdentity",
	// "s3:PutObject", ...
	Action string
	// Resource is the ARN or s3:// URL acted on.
	Resource string
	// Grant is what a policy should name to allow Action, when it is
	// broader than Resource (the prefix, not one test object); "" means
	// Resource.
	Grant string
	// Caller is who acted, when known (for AssumeRole: the principal).
	Caller string
	// Conn is the connection being validated, written as an SQL
	// identifier (Target.NameSQL), for hints that show the SQL to run.
	Conn       string
	ExternalID string
	Region     string
	Endpoint   string
	// OutsideScope is set for an S3 object outside the prefix that the
	// connection's session policy limits its credentials to: AWS refusing
	// it is the scope working, not a missing grant.
	OutsideScope string
}

// Classify explains err, in this order: errors conncat itself raises
// (blocked addresses), typed SDK errors (errors.As), smithy.APIError codes,
// then transport failures and finally the bare HTTP status (moto, for
// one, answers some refusals with a 403 whose body the SDK cannot parse).
func Classify(op Op, err error) Problem {
	for _, classify := range []func(Op, error) (Problem, bool){classifyLocal, classifyTyped, classifyAnswer, classifyTransport} {
		if p, ok := classify(op, err); ok {
			return p
		}
	}
	var maxAttempts *retry.MaxAttemptsError
	retryable := errors.As(err, &maxAttempts)
	return Problem{Code: "error", Retryable: retryable,
		Message: fmt.Sprintf("%s failed: %s", op.Action, rootCause(err)),
		Hint:    "This error is not one conncat recognises; the message is AWS's own."}
}

// classifyLocal recognises what happened on this side: a refused address,
// retries that ran out of time, a timeout, a cancellation.
func classifyLocal(op Op, err error) (Problem, bool) {
	var blocked *connection.BlockedAddressError
	if errors.As(err, &blocked) {
		return Problem{Code: "blocked-address", Message: blocked.Error(),
			Hint: "This catalog only reaches public addresses; point ENDPOINT at a public host."}, true
	}
	var retried *retriedOutError
	if errors.As(err, &retried) {
		p := Classify(op, retried.Last)
		p.Message += " (retried until the check's time ran out)"
		return p, true
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return Problem{Code: "timeout", Retryable: true,
			Message: fmt.Sprintf("%s did not answer in time", endpointName(op)),
			Hint:    "Retry; if it keeps timing out, check network access from the engine to " + endpointName(op) + "."}, true
	}
	if errors.Is(err, context.Canceled) {
		return Problem{Code: "canceled", Message: "validation was cancelled before " + op.Action + " finished", Retryable: true}, true
	}
	return Problem{}, false
}

// classifyTyped recognises the SDK's typed errors first: they survive
// wording changes.
func classifyTyped(op Op, err error) (Problem, bool) {
	var regionDisabled *ststypes.RegionDisabledException
	var noSuchBucket *types.NoSuchBucket
	var noSuchKey *types.NoSuchKey
	var expired *ststypes.ExpiredTokenException
	switch {
	case errors.As(err, &regionDisabled):
		return regionDisabledProblem(op), true
	case errors.As(err, &expired):
		return expiredProblem(), true
	case errors.As(err, &noSuchBucket):
		return noSuchBucketProblem(op), true
	case errors.As(err, &noSuchKey):
		return Problem{Code: "NoSuchKey", Message: fmt.Sprintf("%s is missing", op.Resource),
			Hint: "Something deleted the object between steps; check lifecycle rules or other writers on the prefix."}, true
	}
	return Problem{}, false
}

// classifyAnswer reads what the server answered: the bucket's region
// header, then the error code.
func classifyAnswer(op Op, err error) (Problem, bool) {
	// S3 names the bucket's region on most answers to a request signed
	// for another region, whatever the error code (HeadBucket has no body
	// to carry one).
	if region := bucketRegionHeader(err); region != "" && region != op.Region && strings.HasPrefix(op.Action, "s3:") {
		return wrongRegionProblem(op, region), true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return byCode(op, api.ErrorCode(), api.ErrorMessage(), err)
	}
	return Problem{}, false
}

// classifyTransport recognises a host that could not be reached, and
// answers known only by their HTTP status.
func classifyTransport(op Op, err error) (Problem, bool) {
	var dns *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dns) || errors.As(err, &opErr) {
		return Problem{Code: "unreachable", Retryable: true,
			Message: fmt.Sprintf("could not connect to %s: %s", endpointName(op), rootCause(err)),
			Hint:    "Check the connection's ENDPOINT / STS ENDPOINT and REGION, DNS, and that the engine may reach that host."}, true
	}
	var resp *awshttp.ResponseError
	if !errors.As(err, &resp) {
		return Problem{}, false
	}
	switch status := resp.HTTPStatusCode(); {
	case status == http.StatusForbidden:
		return accessDeniedProblem(op, "http-403"), true
	case status == http.StatusNotFound && strings.HasPrefix(op.Action, "s3:"):
		return noSuchBucketProblem(op), true
	case status == http.StatusMovedPermanently:
		return wrongRegionProblem(op, resp.Response.Header.Get("X-Amz-Bucket-Region")), true
	case status >= 500:
		return Problem{Code: fmt.Sprintf("http-%d", status), Retryable: true,
			Message: fmt.Sprintf("%s failed on the server side (HTTP %d)", op.Action, status),
			Hint:    "Retry; AWS (or the S3-compatible store) reported an internal error."}, true
	}
	return Problem{}, false
}

func byCode(op Op, code, msg string, err error) (Problem, bool) {
	switch code {
	case "AccessDenied", "AccessDeniedException", "Forbidden", "AllAccessDisabled":
		return accessDeniedProblem(op, code), true
	case "InvalidClientTokenId", "InvalidAccessKeyId", "UnrecognizedClientException":
		return Problem{Code: code,
			Message: "AWS does not recognise the access key ID",
			Hint:    "Check ACCESS KEY ID: the key may be mistyped, deleted or deactivated, or belong to another partition. For a role connection this is the engine's own key."}, true
	case "SignatureDoesNotMatch":
		return Problem{Code: code,
			Message: "the request signature does not match: the secret access key is wrong for this access key ID",
			Hint:    "Update the secret named in SECRET ACCESS KEY with ALTER SECRET ... AS '...'. A clock far off true time causes this too."}, true
	case "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "RequestExpired":
		return expiredProblem(), true
	case "RegionDisabledException":
		return regionDisabledProblem(op), true
	case "NoSuchBucket":
		return noSuchBucketProblem(op), true
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		var resp *awshttp.ResponseError
		region := ""
		if errors.As(err, &resp) && resp.Response != nil {
			region = resp.Response.Header.Get("X-Amz-Bucket-Region")
		}
		if region == "" {
			region = regionInMessage(msg)
		}
		return wrongRegionProblem(op, region), true
	case "Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded", "TooManyRequestsException":
		return Problem{Code: code, Retryable: true,
			Message: fmt.Sprintf("AWS throttled %s", op.Action),
			Hint:    "Retry later; many validations at once, or heavy traffic on the account, trigger this."}, true
	case "PackedPolicyTooLarge":
		return Problem{Code: code,
			Message: "AWS refused the session: its policy and tags together are over AssumeRole's packed limit (" + msg + ")",
			Hint: "Shorten the S3 connection's prefix or bucket (the session policy names them), or the engine's role and catalog names " +
				"(the session tags carry them); mz_aws_connection_statuses.packed_policy_size shows how close the others are."}, true
	case "ValidationError":
		if strings.Contains(msg, "role chaining") || strings.Contains(msg, "MaxSessionDuration") {
			return Problem{Code: code, Message: msg,
				Hint: "Lower ASSUME ROLE DURATION: role sessions made with another role's credentials last at most 1 hour, and no session may exceed the role's MaxSessionDuration."}, true
		}
		return Problem{Code: code, Message: msg, Hint: "AWS refused a parameter; check the connection's options."}, true
	}
	return Problem{}, false
}

func accessDeniedProblem(op Op, code string) Problem {
	if op.Action == "sts:AssumeRole" {
		who := op.Caller
		if who == "" {
			who = "the engine's credentials"
		}
		p := Problem{Code: code,
			Message: fmt.Sprintf("AWS refused to let %s assume %s", who, op.Resource),
			Hint: fmt.Sprintf("The role's trust policy must allow %s to call sts:AssumeRole with sts:ExternalId %q; paste the policy from SHOW TRUST POLICY FOR CONNECTION %s.",
				who, op.ExternalID, op.Conn)}
		if op.ExternalID == "" {
			p.Hint = fmt.Sprintf("The role's trust policy must allow %s to call sts:AssumeRole (this hop needs no external ID).", who)
		}
		return p
	}
	if strings.HasPrefix(op.Action, "s3:") && op.OutsideScope != "" {
		return Problem{Code: code,
			Message: fmt.Sprintf("access denied for %s on %s: outside %s, where connection %s's credentials are limited", op.Action, op.Resource, op.OutsideScope, op.Conn),
			Hint:    "The connection's session policy limits its credentials to its prefix, so AWS refuses the rest: name keys under the prefix (S3Location.Key), or use a connection for that location."}
	}
	if strings.HasPrefix(op.Action, "s3:") {
		return Problem{Code: code,
			Message: fmt.Sprintf("access denied for %s on %s", op.Action, op.Resource),
			Hint: fmt.Sprintf("Grant %s on %s in the role's or user's permission policy (SHOW PERMISSION POLICY FOR CONNECTION prints one), and check that no bucket policy or SCP denies it.",
				op.Action, s3ARN(grant(op)))}
	}
	return Problem{Code: code,
		Message: fmt.Sprintf("access denied for %s", op.Action),
		Hint:    fmt.Sprintf("Allow %s for this identity.", op.Action)}
}

func expiredProblem() Problem {
	return Problem{Code: "ExpiredToken",
		Message: "the security token has expired",
		Hint:    "A SESSION TOKEN lasts hours at most: update it, or better, give the connection ASSUME ROLE ARN so conncat refreshes credentials itself."}
}

func regionDisabledProblem(op Op) Problem {
	return Problem{Code: "RegionDisabledException",
		Message: fmt.Sprintf("STS is not activated in region %s for the account", op.Region),
		Hint:    "Activate the region's STS endpoint in IAM > Account settings, or set STS ENDPOINT to a region where it is active."}
}

func noSuchBucketProblem(op Op) Problem {
	return Problem{Code: "NoSuchBucket",
		Message: fmt.Sprintf("bucket of %s does not exist", op.Resource),
		Hint:    "Check the bucket name in the S3 path or PREFIX, and the connection's ENDPOINT for S3-compatible stores."}
}

func wrongRegionProblem(op Op, region string) Problem {
	p := Problem{Code: "PermanentRedirect",
		Message: fmt.Sprintf("the bucket of %s is not in region %s", op.Resource, op.Region),
		Hint:    "Set the connection's REGION to the bucket's region."}
	if region != "" {
		p.Message = fmt.Sprintf("the bucket of %s is in region %s, not %s", op.Resource, region, op.Region)
		p.Hint = fmt.Sprintf("ALTER CONNECTION %s SET (REGION = '%s').", op.Conn, region)
	}
	return p
}

// regionInMessage finds the expected region in messages such as S3's
// "the region 'us-east-1' is wrong; expecting 'eu-west-1'".
func regionInMessage(msg string) string {
	i := strings.LastIndex(msg, "expecting '")
	if i < 0 {
		return ""
	}
	rest := msg[i+len("expecting '"):]
	if j := strings.IndexByte(rest, '\''); j > 0 {
		return rest[:j]
	}
	return ""
}

func endpointName(op Op) string {
	if op.Endpoint != "" {
		return op.Endpoint
	}
	svc, _, _ := strings.Cut(op.Action, ":")
	return "AWS " + strings.ToUpper(svc)
}

func grant(op Op) string {
	if op.Grant != "" {
		return op.Grant
	}
	return op.Resource
}

func s3ARN(resource string) string {
	if rest, ok := strings.CutPrefix(resource, "s3://"); ok {
		return "arn:aws:s3:::" + rest
	}
	return resource
}

func bucketRegionHeader(err error) string {
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) && resp.Response != nil {
		return resp.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// rootCause is the innermost message, without the SDK's "operation error
// ..., https response error ..." wrapping.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
