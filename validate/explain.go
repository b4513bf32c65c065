package validate

import (
	"errors"
	"strings"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"

	"github.com/conncat/conncat/awscreds"
)

// This file is the one place where an operation on a connection becomes
// the Op its errors are classified under. VALIDATE's checks and the data
// plane (refresh failures, the errors of configs and tokens conncat hands
// out) both go through it, so an engine that shows a data-plane error sees
// the message, hint and retry verdict VALIDATE would give.

// OpFor is the Op of action on resource for the target's connection;
// region is the one its calls use (awscreds.Region).
func OpFor(t Target, region, action, resource string) Op {
	name := t.NameSQL
	if name == "" {
		name = t.Spec.Name
	}
	op := Op{Action: action, Resource: resource, Conn: name, ExternalID: t.Spec.ExternalID,
		Region: region, Endpoint: t.Spec.Endpoint}
	if t.S3 != nil && objectAction(action) && strings.HasPrefix(resource, "s3://"+t.S3.Bucket+"/") {
		// Ask for the permission on the whole prefix, which is what
		// the data plane needs, not on one object.
		op.Grant = "s3://" + t.S3.Bucket + "/" + t.S3.Prefix + "*"
	}
	if t.S3 != nil && t.Scope.Policy != "" && objectAction(action) && strings.HasPrefix(resource, "s3://") &&
		!strings.HasPrefix(resource, t.S3.String()) {
		op.OutsideScope = t.S3.String()
	}
	return op
}

// objectAction reports an S3 action on objects (granted on object ARNs),
// as opposed to one on the bucket (s3:ListBucket).
func objectAction(action string) bool {
	return strings.HasPrefix(action, "s3:") && (strings.Contains(action, "Object") || strings.Contains(action, "Multipart"))
}

// ExplainHop explains a failed AssumeRole of the target's role chain as
// the credentials check does: the customer's role, assumed by the
// principal with the external ID, or the engine's jump role (any other
// role of the chain), assumed by the engine's own credentials without one.
func ExplainHop(t Target, region, roleARN string, err error) Problem {
	if p, ok := noEngineCredentials(err); ok {
		return p
	}
	op := OpFor(t, region, "sts:AssumeRole", roleARN)
	if roleARN == t.Spec.RoleARN {
		if p, ok := identityNotTrusted(t, err); ok {
			return p
		}
		op.Caller = principalOrAmbientCredentials(t.Spec.Principal)
		return Classify(op, err)
	}
	op.Caller, op.ExternalID = "the engine's AWS credentials", ""
	p := Classify(op, err)
	p.Message = "jump role: " + p.Message
	return p
}

// ExplainCredentials explains an error that holds a failed hop (a
// *awscreds.HopError at any depth) by the innermost one: when the jump
// role fails, the customer's hop fails because of it. ok is false when err
// holds none.
func ExplainCredentials(t Target, region string, err error) (p Problem, ok bool) {
	var hop *awscreds.HopError
	for e := err; errors.As(e, &hop); e = hop.Err {
		p, ok = ExplainHop(t, region, hop.RoleARN, hop.Err), true
	}
	return p, ok
}

// identityNotTrusted recognises the customer's role refusing a session
// that carries the engine's identity: its trust policy allows
// sts:AssumeRole but not sts:SetSourceIdentity or sts:TagSession, which
// AWS requires for a SourceIdentity or session tags and names in its
// AccessDenied message.
func identityNotTrusted(t Target, err error) (Problem, bool) {
	var ae smithy.APIError
	if t.Scope.SourceIdentity == "" && len(t.Scope.Tags) == 0 || !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		return Problem{}, false
	}
	msg := ae.ErrorMessage()
	if !strings.Contains(msg, "sts:SetSourceIdentity") && !strings.Contains(msg, "sts:TagSession") {
		return Problem{}, false
	}
	name := t.NameSQL
	if name == "" {
		name = t.Spec.Name
	}
	return Problem{Code: "identity-not-trusted",
		Message: "the role " + t.Spec.RoleARN + " does not let the engine say who asked: its trust policy allows sts:AssumeRole but not " +
			"sts:SetSourceIdentity and sts:TagSession, which sessions carrying a source identity and tags need (" + ae.ErrorMessage() + ")",
		Hint: `Add "sts:SetSourceIdentity" and "sts:TagSession" to the Action list of the trust policy's statement; ` +
			"SHOW TRUST POLICY FOR CONNECTION " + name + " shows the whole policy to paste."}, true
}

// EngineCredentialsHint says where the engine's own AWS credentials come
// from: VALIDATE's words and Explain's are the same.
const EngineCredentialsHint = "Give the engine credentials: AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its environment, " +
	"a web identity (IRSA) or an instance role. In the REPL, -sandbox plays AWS in-process."

// noEngineCredentials recognises a hop that could not be signed because
// the engine's own credentials could not be had (nothing in the
// environment, no profile, not on an instance): only the first hop signs
// with them, so that is what failed, whatever role it was for. The SDK
// says so with a SigningError, or (its auth scheme resolution, as the STS
// client of this SDK version does) only in words: "get identity: get
// credentials: …", which are matched as the SDK writes them.
func noEngineCredentials(err error) (Problem, bool) {
	var signing *v4.SigningError
	signingFailed := errors.As(err, &signing) && strings.Contains(signing.Error(), "failed to retrieve credentials")
	if !signingFailed && !strings.Contains(err.Error(), "get identity: get credentials: ") {
		return Problem{}, false
	}
	return Problem{Code: "no-credentials", Message: "the engine has no AWS credentials to assume the role with: " + rootCause(err),
		Hint: EngineCredentialsHint}, true
}
