// Package awstest is a local STS for tests, exact where public emulators
// are not: it checks SigV4 signatures, evaluates trust policies like IAM
// (explicit Deny, account principals, StringLike, a missing ExternalId
// failing a condition that needs one), enforces the one-hour limit on
// role chaining and answers in AWS's XML wire format, so the SDK surfaces
// the same error codes it would against AWS. Engines that embed conncat
// can use it in their own tests.
package awstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// STS is a running fake STS. Its methods are safe for concurrent use.
type STS struct {
	// URL is the endpoint to give the SDK (BaseEndpoint / STS ENDPOINT).
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	now      func() time.Time
	latency  time.Duration
	held     chan struct{}       // set while Hold holds requests
	users    map[string]*user    // by access key ID
	sessions map[string]*session // by access key ID
	roles    map[string]*role    // by ARN
	calls    map[string]int      // by action
	assumed  map[string]int      // AssumeRole successes by role ARN
	requests []AssumeRoleRequest
	seq      atomic.Int64
}

type user struct {
	arn, account, secret string
}

type session struct {
	roleARN, arn, account, secret, token string
	expires                              time.Time
	// sourceIdentity, once set, is carried into every session this one
	// assumes, and cannot be changed (as in AWS).
	sourceIdentity string
}

// AssumeRoleRequest is an AssumeRole call as the server received it,
// whether it succeeded or not: what tests use to prove a value was sent.
type AssumeRoleRequest struct {
	// Caller is the ARN of who asked; SessionARN is the session issued
	// ("" when refused) and Error the code refused with.
	Caller, SessionARN, Error string
	RoleARN, SessionName      string
	ExternalID                string
	// Region is the region the request was signed for.
	Region          string
	DurationSeconds int
	// Policy is the inline session policy, "" for none.
	Policy         string
	SourceIdentity string
	Tags           map[string]string
	// PackedPolicySize is what the answer reported (see packedSize).
	PackedPolicySize int
	// Params is every parameter of the request as sent (the Query
	// protocol's form, first value of each), the ones read above and any
	// other: a test proves an input reached STS even where the fake does
	// nothing with it.
	Params map[string]string
}

type role struct {
	arn, account       string
	policy             *Policy
	maxSessionDuration time.Duration
}

// NewSTS starts a fake STS on 127.0.0.1. Close stops it.
func NewSTS() *STS {
	s := &STS{
		now:      time.Now,
		users:    map[string]*user{},
		sessions: map[string]*session{},
		roles:    map[string]*role{},
		calls:    map[string]int{},
		assumed:  map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *STS) Close() { s.srv.Close() }

// SetClock sets the clock that issues and expires sessions.
func (s *STS) SetClock(now func() time.Time) { s.mu.Lock(); s.now = now; s.mu.Unlock() }

// SetLatency delays every response, to measure how many round trips a
// client makes in sequence.
func (s *STS) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// Hold makes every request wait until release is called (or its client
// gives up), so a test can look at a caller while its call is in flight
// however slow the machine. Requests that arrive after release answer at
// once.
func (s *STS) Hold() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.held = gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.held = nil
			s.mu.Unlock()
			close(gate)
		})
	}
}

var userARN = regexp.MustCompile(`^arn:aws:iam::(\d{12}):user/[\w+=,.@/-]+$`)
var roleARN = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$`)

// AddUser creates an IAM user and returns its access key. Secrets are
// random per call: tests never hold a real credential.
func (s *STS) AddUser(arn string) (accessKeyID, secretAccessKey string) {
	m := userARN.FindStringSubmatch(arn)
	if m == nil {
		panic("awstest: not a user ARN: " + arn)
	}
	accessKeyID = "AKIATEST" + strings.ToUpper(randomHex(6))
	secretAccessKey = randomHex(20)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[accessKeyID] = &user{arn: arn, account: m[1], secret: secretAccessKey}
	return accessKeyID, secretAccessKey
}

// AddRole creates a role with a trust policy and IAM's default maximum
// session duration of one hour.
func (s *STS) AddRole(arn, trustPolicy string) error {
	m := roleARN.FindStringSubmatch(arn)
	if m == nil {
		return fmt.Errorf("awstest: not a role ARN: %s", arn)
	}
	p, err := ParsePolicy(trustPolicy)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[arn] = &role{arn: arn, account: m[1], policy: p, maxSessionDuration: time.Hour}
	return nil
}

// SetTrustPolicy replaces a role's trust policy.
func (s *STS) SetTrustPolicy(arn, trustPolicy string) error {
	p, err := ParsePolicy(trustPolicy)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[arn]
	if !ok {
		return fmt.Errorf("awstest: no role %s", arn)
	}
	r.policy = p
	return nil
}

// SetMaxSessionDuration sets a role's MaxSessionDuration (1 to 12 hours).
func (s *STS) SetMaxSessionDuration(arn string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[arn].maxSessionDuration = d
}

// Calls returns how many requests for action ("AssumeRole",
// "GetCallerIdentity") reached the server, successful or not.
func (s *STS) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// Assumed returns how many sessions of the role were issued.
func (s *STS) Assumed(roleARN string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assumed[roleARN]
}

// AssumeRoleRequests returns every AssumeRole call received, in order.
func (s *STS) AssumeRoleRequests() []AssumeRoleRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AssumeRoleRequest(nil), s.requests...)
}

// Config returns an aws.Config that reaches this server with static keys.
func (s *STS) Config(accessKeyID, secretAccessKey string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// apiError is an error in STS's XML format.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func accessDenied(format string, args ...any) *apiError {
	return &apiError{http.StatusForbidden, "AccessDenied", fmt.Sprintf(format, args...)}
}

func validation(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationError", fmt.Sprintf(format, args...)}
}

func (s *STS) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency, held := s.latency, s.held
	s.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	if latency > 0 {
		time.Sleep(latency) // injected latency: a far-away region, for the tests that want one
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.writeError(w, &apiError{http.StatusBadRequest, "MalformedInput", "unreadable body"})
		return
	}
	form, err := parseForm(r, body)
	if err != nil {
		s.writeError(w, &apiError{http.StatusBadRequest, "MalformedInput", err.Error()})
		return
	}
	action := form.Get("Action")
	s.mu.Lock()
	s.calls[action]++
	s.mu.Unlock()

	caller, aerr := s.authenticate(r, body)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	var result any
	switch action {
	case "GetCallerIdentity":
		result = callerIdentityResponse{Result: callerIdentityResult{Arn: caller.ARN, Account: caller.Account, UserID: "AIDATEST" + caller.Account}}
	case "AssumeRole":
		result, aerr = s.recordAssumeRole(caller, signedRegion(r), form)
	default:
		aerr = &apiError{http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version 2011-06-15", action)}
	}
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	out, _ := xml.Marshal(result)
	_, _ = w.Write(out)
}

func parseForm(r *http.Request, body []byte) (formValues, error) {
	r2 := r.Clone(context.Background())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	if err := r2.ParseForm(); err != nil {
		return nil, err
	}
	return formValues(r2.Form), nil
}

type formValues map[string][]string

func (f formValues) Get(k string) string {
	if v := f[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (f formValues) Has(k string) bool { _, ok := f[k]; return ok }

var authHeader = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)

// authenticate finds the caller from the SigV4 Authorization header and
// recomputes the signature over what was received, as AWS does.
func (s *STS) authenticate(r *http.Request, body []byte) (Caller, *apiError) {
	m := authHeader.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return Caller{}, &apiError{http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"}
	}
	keyID, region, service, signedHeaders := m[1], m[3], m[4], m[5]
	s.mu.Lock()
	u, isUser := s.users[keyID]
	sess, isSession := s.sessions[keyID]
	now := s.now()
	s.mu.Unlock()

	var secret string
	var caller Caller
	switch {
	case isUser:
		secret = u.secret
		caller = Caller{ARN: u.arn, Account: u.account}
	case isSession:
		if r.Header.Get("X-Amz-Security-Token") != sess.token {
			return Caller{}, &apiError{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."}
		}
		if !now.Before(sess.expires) {
			return Caller{}, &apiError{http.StatusBadRequest, "ExpiredToken", "The security token included in the request is expired"}
		}
		secret = sess.secret
		caller = Caller{ARN: sess.arn, RoleARN: sess.roleARN, Account: sess.account, SourceIdentity: sess.sourceIdentity}
	default:
		return Caller{}, &apiError{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	if service != "sts" {
		return Caller{}, &apiError{http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to correct service: 'sts', not '%s'.", service)}
	}
	signTime, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return Caller{}, &apiError{http.StatusBadRequest, "IncompleteSignature", "X-Amz-Date is missing or malformed"}
	}
	// Rebuild the request with only the headers the caller signed.
	check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	check.Host = r.Host
	check.ContentLength = int64(len(body))
	for _, h := range strings.Split(signedHeaders, ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		for _, v := range r.Header.Values(h) {
			check.Header.Add(h, v)
		}
	}
	sum := sha256.Sum256(body)
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := signer.SignHTTP(context.Background(), creds, check, hex.EncodeToString(sum[:]), service, region, signTime); err != nil {
		return Caller{}, &apiError{http.StatusInternalServerError, "InternalFailure", err.Error()}
	}
	if got := authHeader.FindStringSubmatch(check.Header.Get("Authorization")); got == nil || got[6] != m[6] {
		return Caller{}, &apiError{http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return caller, nil
}

// signedRegion is the region of an authenticated request's signature.
func signedRegion(r *http.Request) string {
	if m := authHeader.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[3]
	}
	return ""
}

// recordAssumeRole answers AssumeRole and records the request.
func (s *STS) recordAssumeRole(caller Caller, region string, form formValues) (any, *apiError) {
	req, aerr := parseAssumeRole(caller, form)
	req.Region = region
	var out *assumeRoleResponse
	if aerr == nil {
		out, aerr = s.assumeRole(caller, req)
	}
	if out != nil {
		req.SessionARN, req.PackedPolicySize = out.Result.AssumedRoleUser.Arn, out.Result.PackedPolicySize
	}
	if aerr != nil {
		req.Error = aerr.code
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if aerr != nil {
		return nil, aerr
	}
	return out, nil
}

var externalIDShape = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
var sessionNameShape = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// sourceIdentityShape is AssumeRole's rule for SourceIdentity.
var sourceIdentityShape = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// maxSessionPolicy is AssumeRole's limit on an inline session policy, in
// characters.
const maxSessionPolicy = 2048

// parseAssumeRole reads and checks AssumeRole's parameters as STS does.
func parseAssumeRole(caller Caller, form formValues) (AssumeRoleRequest, *apiError) {
	req := AssumeRoleRequest{Caller: caller.ARN, RoleARN: form.Get("RoleArn"), SessionName: form.Get("RoleSessionName"),
		ExternalID: form.Get("ExternalId"), Policy: form.Get("Policy"), SourceIdentity: form.Get("SourceIdentity"),
		Params: map[string]string{}}
	for k := range form {
		req.Params[k] = form.Get(k)
	}
	if !sessionNameShape.MatchString(req.SessionName) {
		return req, validation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", req.SessionName)
	}
	if form.Has("ExternalId") && (len(req.ExternalID) < 2 || len(req.ExternalID) > 1224 || !externalIDShape.MatchString(req.ExternalID)) {
		return req, validation("1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
	}
	req.DurationSeconds = 3600
	if form.Has("DurationSeconds") {
		n, err := strconv.Atoi(form.Get("DurationSeconds"))
		if err != nil || n < 900 || n > 43200 {
			return req, validation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", form.Get("DurationSeconds"))
		}
		req.DurationSeconds = n
	}
	if aerr := checkSessionPolicy(form); aerr != nil {
		return req, aerr
	}
	if form.Has("SourceIdentity") && (!sourceIdentityShape.MatchString(req.SourceIdentity) || strings.HasPrefix(strings.ToLower(req.SourceIdentity), "aws:")) {
		return req, validation("1 validation error detected: Value '%s' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", req.SourceIdentity)
	}
	var aerr *apiError
	req.Tags, aerr = parseTags(form)
	return req, aerr
}

// checkSessionPolicy applies STS's rules to an inline session policy:
// at most 2,048 characters, and a policy document.
func checkSessionPolicy(form formValues) *apiError {
	if !form.Has("Policy") {
		return nil
	}
	policy := form.Get("Policy")
	if n := len([]rune(policy)); n < 1 || n > maxSessionPolicy {
		return validation("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to %d", maxSessionPolicy)
	}
	var doc struct {
		Version   string            `json:"Version"`
		Statement []json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(policy), &doc) != nil || len(doc.Statement) == 0 {
		return &apiError{http.StatusBadRequest, "MalformedPolicyDocument", "The policy is not in the valid JSON format."}
	}
	return nil
}

// parseTags reads Tags.member.N.Key / .Value: at most 50, keys of at most
// 128 characters and values of at most 256, keys unique without case.
func parseTags(form formValues) (map[string]string, *apiError) {
	tags := map[string]string{}
	for i := 1; form.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		k, v := form.Get(fmt.Sprintf("Tags.member.%d.Key", i)), form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
		if i > 50 {
			return nil, validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
		}
		if len(k) < 1 || len(k) > 128 || len(v) > 256 {
			return nil, validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: a tag key must have 1 to 128 characters and a value at most 256")
		}
		for have := range tags {
			if strings.EqualFold(have, k) {
				return nil, &apiError{http.StatusBadRequest, "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive."}
			}
		}
		tags[k] = v
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// packedSize is the percentage of STS's packed budget that the session
// policy and tags use. AWS compresses both into a binary form it does not
// document; this server does not compress, and counts the policy's
// characters plus each tag's key and value against 2,048: a request over
// 100% fails with PackedPolicyTooLarge, as AWS's do past its own limit.
func packedSize(req AssumeRoleRequest) int {
	n := len(req.Policy)
	for k, v := range req.Tags {
		n += len(k) + len(v)
	}
	return (n*100 + maxSessionPolicy - 1) / maxSessionPolicy
}

// trustContext is what a trust policy's conditions can test: the external
// ID, the source identity and each tag the request carries (an empty
// ExternalId never gets this far).
func trustContext(req AssumeRoleRequest) map[string]string {
	keys := map[string]string{}
	if req.ExternalID != "" {
		keys["sts:ExternalId"] = req.ExternalID
	}
	if req.SourceIdentity != "" {
		keys["sts:SourceIdentity"] = req.SourceIdentity
	}
	for k, v := range req.Tags {
		keys["aws:RequestTag/"+k] = v
	}
	return keys
}

func (s *STS) assumeRole(caller Caller, req AssumeRoleRequest) (*assumeRoleResponse, *apiError) {
	if caller.SourceIdentity != "" {
		if req.SourceIdentity != "" && req.SourceIdentity != caller.SourceIdentity {
			return nil, accessDenied("User: %s is not authorized to perform: sts:SetSourceIdentity on resource: %s: the source identity cannot be changed once set", caller.ARN, req.RoleARN)
		}
		req.SourceIdentity = caller.SourceIdentity // carried along the chain
	}
	packed := packedSize(req)
	if packed > 100 {
		return nil, &apiError{http.StatusBadRequest, "PackedPolicyTooLarge", fmt.Sprintf("Packed size of the session policy and session tags exceeds the limit: %d%% of the allowed size.", packed)}
	}
	duration := time.Duration(req.DurationSeconds) * time.Second
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[req.RoleARN]
	if !ok {
		// AWS does not say whether the role exists: that would let anyone
		// enumerate roles in other accounts.
		return nil, accessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, req.RoleARN)
	}
	if aerr := r.trusts(caller, req); aerr != nil {
		return nil, aerr
	}
	if chained := caller.RoleARN != ""; chained && duration > time.Hour {
		return nil, validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if duration > r.maxSessionDuration {
		return nil, validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	keyID := fmt.Sprintf("ASIATEST%012d", s.seq.Add(1))
	roleName := r.arn[strings.LastIndexByte(r.arn, '/')+1:]
	sess := &session{
		roleARN: r.arn, account: r.account,
		arn:    fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", r.account, roleName, req.SessionName),
		secret: randomHex(20), token: "FwoGZXIvYXdzEXAMPLE" + randomHex(32),
		expires:        s.now().Add(duration).Truncate(time.Second),
		sourceIdentity: req.SourceIdentity,
	}
	s.sessions[keyID] = sess
	s.assumed[r.arn]++
	out := &assumeRoleResponse{Result: assumeRoleResult{
		Credentials: credentialsXML{AccessKeyID: keyID, SecretAccessKey: sess.secret, SessionToken: sess.token,
			Expiration: sess.expires.UTC().Format(time.RFC3339)},
		AssumedRoleUser: assumedRoleUser{AssumedRoleID: "AROATEST:" + req.SessionName, Arn: sess.arn},
		SourceIdentity:  req.SourceIdentity,
	}}
	if req.Policy != "" || len(req.Tags) > 0 {
		out.Result.PackedPolicySize = packed
	}
	return out, nil
}

// trusts evaluates the role's trust policy for the request: sts:AssumeRole,
// and sts:SetSourceIdentity / sts:TagSession when the request sets a
// source identity or tags, which AWS requires the trust policy to allow
// too.
func (r *role) trusts(caller Caller, req AssumeRoleRequest) *apiError {
	keys := trustContext(req)
	actions := []string{"sts:AssumeRole"}
	if req.SourceIdentity != "" && caller.SourceIdentity == "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	if len(req.Tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	for _, action := range actions {
		if r.policy.Evaluate(action, caller, keys) != Allowed {
			return accessDenied("User: %s is not authorized to perform: %s on resource: %s", caller.ARN, action, req.RoleARN)
		}
	}
	return nil
}

type assumeRoleResponse struct {
	XMLName xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result  assumeRoleResult `xml:"AssumeRoleResult"`
	Meta    responseMetadata `xml:"ResponseMetadata"`
}

type assumeRoleResult struct {
	Credentials      credentialsXML  `xml:"Credentials"`
	AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize int             `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
}

type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type callerIdentityResponse struct {
	XMLName xml.Name             `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result  callerIdentityResult `xml:"GetCallerIdentityResult"`
	Meta    responseMetadata     `xml:"ResponseMetadata"`
}

type callerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type errorResponse struct {
	XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error     errorXML `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type errorXML struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (s *STS) writeError(w http.ResponseWriter, e *apiError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	out, _ := xml.Marshal(errorResponse{Error: errorXML{Type: typ, Code: e.code, Message: e.message}, RequestID: randomHex(8)})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write(out)
}
