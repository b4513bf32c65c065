package dataplane

import (
	"context"
	"errors"
	"reflect"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
	"github.com/conncat/conncat/validate"
)

// Explanation is an error of the data plane told the way VALIDATE tells a
// failed check, so an engine can show "AWS refused to let … assume …" and
// what to change instead of the SDK's text.
type Explanation struct {
	// Code is AWS's error code ("AccessDenied") or conncat's short name
	// for a failure AWS did not name ("timeout", "unreachable",
	// "blocked-address"); for conncat's own errors (*sqlerror.Error), the SQLSTATE.
	Code    string
	Message string
	Hint    string
	// Retryable says whether trying again unchanged may succeed
	// (throttling, timeouts, the network, a catalog that was unreachable).
	Retryable bool
}

// Explain explains an error from anything conncat handed out: an
// aws.Config of AWSConfig and the clients built from it, an S3Location's
// client, its credentials, an auth token. It gives the message, hint and
// retry verdict VALIDATE CONNECTION would give for the same failure, in
// terms of the connection (its role, external ID, region, prefix). Other
// errors are explained as far as their AWS error code allows. nil gives
// the zero Explanation.
func Explain(err error) Explanation {
	if err == nil {
		return Explanation{}
	}
	ce := innermostConnectionError(err)
	if ce == nil {
		// conncat's own (a dropped connection, a closed catalog), or an
		// error of a client conncat did not hand out.
		var coded *sqlerror.Error
		if errors.As(err, &coded) && !fromAWS(err) {
			return Explanation{Code: coded.Code, Message: coded.Message, Hint: coded.Hint, Retryable: retryableCode(coded.Code)}
		}
		return fromProblem(validate.Classify(validate.Op{Action: actionOf(err)}, err))
	}
	return fromProblem(ce.problem(actionOf(err)))
}

// problem is the error as VALIDATE would explain it: by the innermost
// failed hop when credentials failed, else as the call that failed
// (outerAction when the wrapper does not know it: a credentials error
// seen through a client's call), else as the connection's AssumeRole.
func (e *connectionError) problem(outerAction string) validate.Problem {
	if p, ok := validate.ExplainCredentials(e.target, e.region, e.err); ok {
		return p
	}
	action, resource := e.action, e.resource
	if action == "" {
		action = outerAction
	}
	if action == "" { // credentials that failed before any hop
		action, resource = "sts:AssumeRole", e.target.Spec.RoleARN
	}
	return validate.Classify(validate.OpFor(e.target, e.region, action, resource), e.err)
}

// fromAWS reports an error that AWS (or the SDK on its way there) raised.
func fromAWS(err error) bool {
	var op *smithy.OperationError
	var api smithy.APIError
	return errors.As(err, &op) || errors.As(err, &api)
}

func fromProblem(p validate.Problem) Explanation {
	return Explanation{Code: p.Code, Message: p.Message, Hint: p.Hint, Retryable: p.Retryable}
}

// retryableCode: the SQLSTATEs that trying again can clear: connection
// exceptions (but not a catalog handle that was closed), transaction
// rollbacks (serialization), insufficient resources, a lock not
// available, an administrator's shutdown.
func retryableCode(code string) bool {
	if code == sqlstate.ConnectionDoesNotExist {
		return false
	}
	for _, class := range []string{"08", "40", "53", "57P0"} {
		if strings.HasPrefix(code, class) {
			return true
		}
	}
	return code == sqlstate.LockNotAvailable
}

// connectionError ties an error of something conncat handed out to the
// connection it came from, so Explain can speak of that connection. Its
// text is the error's own; it holds no secret (see explainTarget).
type connectionError struct {
	target validate.Target
	region string
	// action and resource are the call that failed ("s3:PutObject",
	// "s3://bucket/key"); empty for a credentials failure.
	action, resource string
	err              error
}

func (e *connectionError) Error() string { return e.err.Error() }
func (e *connectionError) Unwrap() error { return e.err }

// innermostConnectionError is the deepest in err's chain: a client's
// call that failed because its credentials did is explained by the
// credentials.
func innermostConnectionError(err error) *connectionError {
	var found *connectionError
	for ce := (*connectionError)(nil); errors.As(err, &ce); err = ce.err {
		found = ce
	}
	return found
}

// explainTarget is what Explain needs of a connection: its names, role,
// principal, external ID and endpoints, never its keys.
func explainTarget(spec connection.Spec, s3 *connection.S3URL) validate.Target {
	spec.AccessKeyID, spec.SecretAccessKey, spec.SessionToken = "", "", ""
	return validate.Target{Spec: spec, NameSQL: sqlparse.QuoteIdent(spec.Name), S3: s3}
}

// explainCalls is an API option for configs handed out: every failed call
// of every client built from them carries its connection, action and
// resource for Explain. The error's text is unchanged.
func explainCalls(t validate.Target, region string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("conncat.Explain",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err != nil {
					action := iamAction(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx))
					err = &connectionError{target: t, region: region, action: action, resource: resourceOf(in.Parameters), err: err}
				}
				return out, md, err
			}), middleware.After)
	}
}

// actionOf is the IAM action of the AWS call err came from, if it names one.
func actionOf(err error) string {
	var op *smithy.OperationError
	if errors.As(err, &op) {
		return iamAction(op.ServiceID, op.OperationName)
	}
	return ""
}

// s3Actions are the IAM actions of S3 operations whose names differ.
var s3Actions = map[string]string{
	"ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket", "HeadBucket": "s3:ListBucket",
	"HeadObject": "s3:GetObject", "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
	"CompleteMultipartUpload": "s3:PutObject", "CopyObject": "s3:PutObject", "DeleteObjects": "s3:DeleteObject",
}

// iamAction names an operation as IAM policies do: "s3:ListBucket" for
// S3's ListObjectsV2, "sts:AssumeRole", else service:Operation.
func iamAction(service, operation string) string {
	if operation == "" {
		return ""
	}
	if service == "S3" {
		if a, ok := s3Actions[operation]; ok {
			return a
		}
	}
	prefix := strings.ToLower(strings.ReplaceAll(service, " ", ""))
	return prefix + ":" + operation
}

// resourceOf is the S3 object or bucket an operation's input names
// ("s3://bucket/key", "s3://bucket"), or "".
func resourceOf(input any) string {
	v := reflect.ValueOf(input)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	field := func(name string) string {
		f := v.Elem().FieldByName(name)
		if !f.IsValid() || !f.CanInterface() {
			return ""
		}
		if s, ok := f.Interface().(*string); ok && s != nil {
			return *s
		}
		return ""
	}
	bucket := field("Bucket")
	if bucket == "" {
		return ""
	}
	if key := field("Key"); key != "" {
		return "s3://" + bucket + "/" + key
	}
	return "s3://" + bucket
}
