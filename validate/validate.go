// Package validate runs VALIDATE CONNECTION's checks (DESIGN §5): it proves
// that a connection's credentials work, that the customer's role refuses
// callers without the external ID, and that the S3 prefix can be listed,
// written, read and cleaned up, and it says what to change when not. It
// knows nothing of SQL text or storage: it takes a resolved connection.
package validate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkcreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/uuid"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/panics"
)

// Status is a check's outcome.
type Status string

const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	// Skip means a prerequisite failed; the message says which.
	Skip Status = "SKIP"
)

// Check names, in the order results are returned.
const (
	CheckCredentials        = "credentials"
	CheckExternalIDRequired = "external_id_required"
	CheckBucketRegion       = "bucket_region"
	CheckList               = "list"
	CheckWrite              = "write"
	CheckRead               = "read"
	CheckDelete             = "delete"
	CheckMultipart          = "multipart"
)

// Result is one check's row.
type Result struct {
	Check    string
	Status   Status
	Message  string
	Hint     string
	Duration time.Duration
	// Retryable says whether running the check again may pass without
	// changing anything (throttling, timeouts, network).
	Retryable bool
}

// Failed reports whether any check failed.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// Target is what to validate.
type Target struct {
	Spec        connection.Spec
	CatalogName string
	// NameSQL is Spec.Name written as the caller's SQL dialect writes an
	// identifier (quoted where it must be), for hints that show a
	// statement to run; empty means Spec.Name as is. validate knows no
	// SQL, so the caller, who does, supplies it.
	NameSQL string
	// S3 is the path to check; nil runs only the credential checks.
	S3 *connection.S3URL
	// Scope is what the data plane's session for this connection carries
	// (an S3 prefix's session policy; with session identity, who asked):
	// the checks assume the role with it, so that they prove what the
	// data plane will be allowed, no more.
	Scope connection.SessionScope
}

// Options configure a run.
type Options struct {
	// Ambient is the engine's AWS config: its credentials make the first
	// AssumeRole hop, its HTTP client and retryer serve every call.
	Ambient aws.Config
	// CheckTimeout bounds each check; default 20 s. The context given to
	// Run bounds them all.
	CheckTimeout time.Duration
	// Progress, when set, is called with each check's result as the check
	// finishes (checks run concurrently; calls are serialized), so a
	// front end can show a long run as it happens.
	Progress func(Result)
	// Clients makes the STS and S3 clients; the zero value makes the
	// SDK's from Ambient.
	Clients Clients
	// OnSTSCall, when set, is told of every STS call the run makes: its
	// operation (AssumeRole, GetCallerIdentity) and error (for metrics).
	OnSTSCall func(operation string, err error)
}

// Run runs every check that can run and returns their results in the
// order of DESIGN §5. Independent checks run concurrently.
func Run(ctx context.Context, t Target, o Options) []Result {
	if o.CheckTimeout == 0 {
		o.CheckTimeout = 20 * time.Second
	}
	o.Clients = o.Clients.withDefaults(o.Ambient)
	if o.OnSTSCall != nil {
		o.Clients.STS = countSTS(o.Clients.STS, o.OnSTSCall)
	}
	r := &runner{t: t, o: o, spec: t.Spec, region: awscreds.Region(t.Spec, o.Ambient.Region),
		progressMu: new(sync.Mutex), reported: map[string]bool{}}
	var results []Result
	var creds aws.CredentialsProvider
	if t.Spec.AssumesRole() {
		var cred, ext Result
		creds, cred, ext = r.assumeRole(ctx)
		r.report(cred)
		r.report(ext)
		results = append(results, cred, ext)
	} else {
		var cred Result
		creds, cred = r.staticKeys(ctx)
		results = append(results, cred)
	}
	if t.S3 != nil {
		results = append(results, r.s3Checks(ctx, creds, results[0])...)
	}
	// Checks that never ran (skipped) are reported last.
	for _, res := range results {
		r.report(res)
	}
	return results
}

type runner struct {
	t          Target
	o          Options
	spec       connection.Spec
	region     string
	progressMu *sync.Mutex
	reported   map[string]bool // checks already given to Options.Progress
}

// timed runs fn under the check timeout and fills in the duration.
func (r *runner) timed(ctx context.Context, check string, fn func(ctx context.Context) Result) Result {
	ctx, cancel := context.WithTimeout(ctx, r.o.CheckTimeout)
	defer cancel()
	start := time.Now()
	res := fn(ctx)
	res.Check = check
	res.Duration = time.Since(start)
	r.report(res)
	return res
}

// report passes a finished check to Options.Progress, once per check.
func (r *runner) report(res Result) {
	if r.o.Progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	if r.reported[res.Check] {
		return
	}
	r.reported[res.Check] = true
	r.o.Progress(res)
}

func fail(p Problem) Result {
	return Result{Status: Fail, Message: p.Message, Hint: p.Hint, Retryable: p.Retryable}
}

func skip(format string, args ...any) Result {
	return Result{Status: Skip, Message: fmt.Sprintf(format, args...)}
}

// nameSQL is the connection's name as hints write it in a statement.
func (r *runner) nameSQL() string {
	if r.t.NameSQL != "" {
		return r.t.NameSQL
	}
	return r.spec.Name
}

// op is an action of the run; on a test object, the hint asks for the
// permission on the whole prefix (OpFor).
func (r *runner) op(action, resource string) Op { return OpFor(r.t, r.region, action, resource) }

func (r *runner) stsClient(creds aws.CredentialsProvider) STSAPI {
	return r.o.Clients.STS(r.spec, creds)
}

// credentialProblem says whether a classified error is about the keys
// themselves rather than about the endpoint.
func credentialProblem(code string) bool {
	switch code {
	case "InvalidClientTokenId", "InvalidAccessKeyId", "UnrecognizedClientException", "SignatureDoesNotMatch", "ExpiredToken":
		return true
	}
	return false
}

func (r *runner) staticKeys(ctx context.Context) (aws.CredentialsProvider, Result) {
	creds := sdkcreds.NewStaticCredentialsProvider(r.spec.AccessKeyID, r.spec.SecretAccessKey, r.spec.SessionToken)
	res := r.timed(ctx, CheckCredentials, func(ctx context.Context) Result {
		out, err := r.stsClient(creds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			p := Classify(r.op("sts:GetCallerIdentity", "the connection's access key"), err)
			if r.spec.Endpoint != "" && r.spec.STSEndpoint == "" && !credentialProblem(p.Code) {
				// S3-compatible stores (MinIO, Ceph, R2) answer S3 at
				// ENDPOINT but not STS's GetCallerIdentity: the S3
				// checks will show whether the keys work.
				return skip("skipped: %s does not answer STS GetCallerIdentity (%s); the S3 checks test the keys", r.spec.Endpoint, p.Message)
			}
			return fail(p)
		}
		return Result{Status: Pass, Message: "authenticated as " + aws.ToString(out.Arn)}
	})
	return creds, res
}

// assumeRole runs the credentials check (the whole chain, with the
// external ID) and external_id_required (the last hop again, without it)
// side by side: both need only the caller of the last hop.
func (r *runner) assumeRole(ctx context.Context) (aws.CredentialsProvider, Result, Result) {
	start := time.Now()
	ctxCheck, cancel := context.WithTimeout(ctx, r.o.CheckTimeout)
	defer cancel()
	last, caller, cred, ext := r.callerOfLastHop(ctx, ctxCheck, start)
	if caller == nil {
		return nil, cred, ext
	}
	client := r.stsClient(caller)
	var wg panics.Group
	var finalCreds aws.Credentials
	wg.Go(func() {
		creds, session, err := awscreds.AssumeHop(ctxCheck, client, last)
		if err != nil {
			cred = fail(ExplainHop(r.t, r.region, last.RoleARN, err))
		} else {
			finalCreds = creds
			cred = Result{Status: Pass, Message: "assumed " + last.RoleARN + " as " + session.ARN + scopeNote(last.Scope, session)}
		}
		cred.Check, cred.Duration = CheckCredentials, time.Since(start)
	})
	wg.Go(func() {
		extStart := time.Now()
		noID := last
		noID.ExternalID = ""
		noID.SessionName = connection.SanitizeSessionName(last.SessionName + "-no-external-id")
		_, _, err := awscreds.AssumeHop(ctxCheck, client, noID)
		ext = r.judgeNoExternalID(err)
		ext.Check, ext.Duration = CheckExternalIDRequired, time.Since(extStart)
	})
	wg.Wait()
	if cred.Status != Pass && ext.Status == Pass {
		// A refusal proves nothing when the call with the external ID was
		// refused too.
		ext = Result{Check: CheckExternalIDRequired, Status: Skip, Duration: ext.Duration,
			Message: "skipped: the role could not be assumed with the external ID either, so a refusal without it proves nothing"}
	}
	if cred.Status != Pass {
		return nil, cred, ext
	}
	return sdkcreds.NewStaticCredentialsProvider(finalCreds.AccessKeyID, finalCreds.SecretAccessKey, finalCreds.SessionToken), cred, ext
}

// scopeNote says what narrowed the session, for the credentials check's
// message.
func scopeNote(scope connection.SessionScope, session awscreds.Session) string {
	var parts []string
	if scope.Policy != "" {
		parts = append(parts, "limited to the connection's prefix by a session policy")
	}
	if scope.SourceIdentity != "" {
		parts = append(parts, "source identity "+scope.SourceIdentity)
	}
	if session.PackedPolicySize > 0 {
		parts = append(parts, fmt.Sprintf("packed policy size %d%%", session.PackedPolicySize))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// callerOfLastHop plans the role chain and makes every hop but the last
// (the jump role, with no external ID) with the engine's credentials. It
// returns the last hop and who makes it, or a nil caller with the two
// checks' results when the chain cannot get that far.
func (r *runner) callerOfLastHop(ctx, ctxCheck context.Context, start time.Time) (connection.Hop, aws.CredentialsProvider, Result, Result) {
	failed := func(cred Result, skipped string) (connection.Hop, aws.CredentialsProvider, Result, Result) {
		cred.Check, cred.Status = CheckCredentials, Fail
		return connection.Hop{}, nil, cred, Result{Check: CheckExternalIDRequired, Status: Skip, Message: "skipped: " + skipped}
	}
	hops, err := connection.Hops(r.spec, r.t.CatalogName, r.t.Scope)
	if err != nil {
		return failed(Result{Message: err.Error(), Hint: "Fix the connection's options with ALTER CONNECTION."},
			"the connection's role chain is invalid")
	}
	caller := r.o.Ambient.Credentials
	if caller == nil {
		return failed(Result{Message: "the engine has no AWS credentials to assume the role with",
			Hint: "Give the engine credentials (environment, shared profile, web identity or instance role)."},
			"the engine has no AWS credentials")
	}
	// The engine's own credentials first: their absence (nothing in the
	// environment, no profile, not on an instance) is the commonest first
	// failure, and the SDK reports it as an instance-metadata error.
	if _, err := caller.Retrieve(ctxCheck); err != nil && ctx.Err() == nil {
		return failed(Result{Duration: time.Since(start),
			Message: "the engine has no AWS credentials to assume the role with: " + rootCause(err),
			Hint:    EngineCredentialsHint},
			"the engine has no AWS credentials")
	}
	for _, hop := range hops[:len(hops)-1] {
		creds, _, err := awscreds.AssumeHop(ctxCheck, r.o.Clients.STS(r.spec.EngineHop(), caller), hop)
		if err != nil {
			res := fail(ExplainHop(r.t, r.region, hop.RoleARN, err))
			res.Duration = time.Since(start)
			return failed(res, "the engine could not assume its own principal "+hop.RoleARN)
		}
		caller = sdkcreds.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	}
	return hops[len(hops)-1], caller, Result{}, Result{}
}

// principalOrAmbientCredentials names who assumes the customer's role.
func principalOrAmbientCredentials(p string) string {
	if p == "" {
		return "the engine's AWS credentials"
	}
	return p
}

// judgeNoExternalID: the customer's role must refuse the caller when the
// external ID is missing; if it lets the caller in, anyone who can make
// the engine assume roles (any other customer) could reach this role.
func (r *runner) judgeNoExternalID(err error) Result {
	if err == nil {
		return Result{Status: Fail,
			Message: "the role can be assumed without the external ID: another customer of this engine who learns the role ARN could use it (confused deputy)",
			Hint: fmt.Sprintf(`Add this condition to the trust policy statement that allows %s: "Condition": {"StringEquals": {"sts:ExternalId": "%s"}} (SHOW TRUST POLICY FOR CONNECTION %s prints the whole policy).`,
				principalOrAmbient(r.spec.Principal), r.spec.ExternalID, r.nameSQL())}
	}
	p := Classify(r.op("sts:AssumeRole", r.spec.RoleARN), err)
	switch p.Code {
	case "AccessDenied", "http-403":
		return Result{Status: Pass, Message: "AssumeRole without the external ID was refused"}
	}
	res := fail(p)
	res.Message = "could not test the call without the external ID: " + res.Message
	return res
}

func principalOrAmbient(p string) string {
	if p == "" {
		return "the engine's AWS identity"
	}
	return p
}

// s3Checks runs bucket_region, list, write→read→delete and multipart.
// The chains are independent, so they run concurrently.
func (r *runner) s3Checks(ctx context.Context, creds aws.CredentialsProvider, cred Result) []Result {
	names := []string{CheckBucketRegion, CheckList, CheckWrite, CheckRead, CheckDelete, CheckMultipart}
	out := make([]Result, len(names))
	if cred.Status == Fail || creds == nil {
		for i, n := range names {
			out[i] = skip("skipped: the credentials check failed")
			out[i].Check = n
		}
		return out
	}
	client := r.o.Clients.S3(r.spec, creds)
	bucket := r.t.S3.Bucket
	key := r.t.S3.Prefix + ".conncat-validate-" + uuid.NewString()
	url := func(k string) string { return "s3://" + bucket + "/" + k }

	var wg panics.Group
	wg.Go(func() {
		out[0] = r.timed(ctx, CheckBucketRegion, func(ctx context.Context) Result { return r.bucketRegion(ctx, client) })
	})
	wg.Go(func() {
		out[1] = r.timed(ctx, CheckList, func(ctx context.Context) Result {
			_, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(r.t.S3.Prefix), MaxKeys: aws.Int32(1)})
			if err != nil {
				return fail(Classify(r.op("s3:ListBucket", r.t.S3.String()), err))
			}
			return Result{Status: Pass, Message: "listed " + r.t.S3.String()}
		})
	})
	wg.Go(func() { out[2], out[3], out[4] = r.writeReadDelete(ctx, client, bucket, key, url(key)) })
	wg.Go(func() {
		out[5] = r.timed(ctx, CheckMultipart, func(ctx context.Context) Result { return r.multipart(ctx, client, bucket, key+"-multipart") })
	})
	wg.Wait()
	return out
}

func (r *runner) bucketRegion(ctx context.Context, client HeadBucketAPI) Result {
	head, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(r.t.S3.Bucket)})
	if err != nil {
		return fail(Classify(r.op("s3:ListBucket", "s3://"+r.t.S3.Bucket), err))
	}
	got := aws.ToString(head.BucketRegion)
	switch {
	case got == "":
		return Result{Status: Pass, Message: fmt.Sprintf("bucket %s exists (the store does not report its region)", r.t.S3.Bucket)}
	case got != r.region:
		return fail(wrongRegionProblem(r.op("s3:ListBucket", "s3://"+r.t.S3.Bucket), got))
	}
	return Result{Status: Pass, Message: fmt.Sprintf("bucket %s is in %s", r.t.S3.Bucket, got)}
}

// writeReadDelete writes a test object, reads it back, deletes it and
// confirms it is gone. The object is deleted even when the read fails.
func (r *runner) writeReadDelete(ctx context.Context, client objectAPI, bucket, key, url string) (w, rd, del Result) {
	body := make([]byte, 32)
	_, _ = rand.Read(body)
	payload := []byte("conncat VALIDATE CONNECTION test object; safe to delete\n" + hex.EncodeToString(body) + "\n")
	w = r.timed(ctx, CheckWrite, func(ctx context.Context) Result {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(payload)})
		if err != nil {
			return fail(Classify(r.op("s3:PutObject", url), err))
		}
		return Result{Status: Pass, Message: "wrote " + url}
	})
	if w.Status != Pass {
		rd, del = skip("skipped: the write check failed, nothing to read"), skip("skipped: the write check failed, nothing to delete")
		rd.Check, del.Check = CheckRead, CheckDelete
		return w, rd, del
	}
	rd = r.timed(ctx, CheckRead, func(ctx context.Context) Result {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return fail(Classify(r.op("s3:GetObject", url), err))
		}
		defer out.Body.Close()
		got, err := io.ReadAll(io.LimitReader(out.Body, int64(len(payload))+1))
		if err != nil {
			return fail(Classify(r.op("s3:GetObject", url), err))
		}
		if !bytes.Equal(got, payload) {
			return Result{Status: Fail, Message: fmt.Sprintf("read %d bytes back from %s that differ from the %d written", len(got), url, len(payload)),
				Hint: "Something rewrites objects under the prefix (a proxy, an object lambda, another writer); check the bucket's configuration."}
		}
		return Result{Status: Pass, Message: fmt.Sprintf("read %s back (%d bytes, identical)", url, len(payload))}
	})
	del = r.timed(ctx, CheckDelete, func(ctx context.Context) Result {
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
			res := fail(Classify(r.op("s3:DeleteObject", url), err))
			res.Message += "; the test object " + url + " was left behind, delete it by hand"
			return res
		}
		_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		var notFound *s3types.NotFound
		switch {
		case errors.As(err, &notFound):
			return Result{Status: Pass, Message: "deleted " + url + " and confirmed it is gone"}
		case err == nil:
			return Result{Status: Fail, Message: url + " still exists after DeleteObject",
				Hint: "Object Lock or a retention rule keeps objects under the prefix; conncat's sinks need to remove their own temporary files."}
		default:
			p := Classify(r.op("s3:GetObject", url), err)
			return Result{Status: Fail, Message: "deleted " + url + " but could not confirm it is gone: " + p.Message, Hint: p.Hint, Retryable: p.Retryable}
		}
	})
	return w, rd, del
}

func (r *runner) multipart(ctx context.Context, client interface {
	CreateMultipartUploadAPI
	AbortMultipartUploadAPI
}, bucket, key string) Result {
	url := "s3://" + bucket + "/" + key
	up, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fail(Classify(r.op("s3:PutObject", url), err))
	}
	if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId}); err != nil {
		res := fail(Classify(r.op("s3:AbortMultipartUpload", url), err))
		res.Message += "; the incomplete upload of " + url + " was left behind (a lifecycle rule that aborts incomplete uploads cleans it up)"
		return res
	}
	return Result{Status: Pass, Message: "started and aborted a multipart upload of " + url}
}
