package awstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Presigned is what a verified presigned token says: who signed it, for
// which region and service, and how long it is good for.
type Presigned struct {
	Caller   Caller
	Region   string
	Service  string
	SignedAt time.Time
	// Expires is when the token stops being accepted: its own expiry
	// (X-Amz-Expires after signing) or, for a session's credentials, the
	// session's end, whichever comes first.
	Expires time.Time
	// CredentialsExpire is the end of the signing session (zero for a
	// user's long-term keys).
	CredentialsExpire time.Time
}

// TokenError is a token the service would refuse, with AWS's reason.
type TokenError struct{ Reason string }

func (e *TokenError) Error() string { return "token refused: " + e.Reason }

// VerifyRDSAuthToken checks an RDS / Aurora IAM authentication token as the
// database does when a client offers it as the password: a SigV4
// presigned "connect" for dbUser at endpoint (host:port), scoped to
// region and the rds-db service, signed by keys this STS issued, within
// its expiry and its session's.
func (s *STS) VerifyRDSAuthToken(token, endpoint, region, dbUser string) (Presigned, error) {
	u, err := url.Parse("https://" + token)
	if err != nil {
		return Presigned{}, &TokenError{"not a presigned URL"}
	}
	if u.Host != endpoint {
		return Presigned{}, &TokenError{fmt.Sprintf("signed for host %q, not %q", u.Host, endpoint)}
	}
	q := u.Query()
	if q.Get("Action") != "connect" || q.Get("DBUser") != dbUser {
		return Presigned{}, &TokenError{fmt.Sprintf("action %q for user %q, not connect for %q", q.Get("Action"), q.Get("DBUser"), dbUser)}
	}
	return s.verifyPresigned(u, "rds-db", region, nil)
}

// VerifyMSKAuthToken checks an MSK IAM SASL token as the broker does: the
// base64url of a SigV4 presigned kafka-cluster:Connect URL for
// kafka.<region>.amazonaws.com, signed by keys this STS issued, within its
// expiry and its session's. Its User-Agent parameter is added after
// signing and is not part of the signature.
func (s *STS) VerifyMSKAuthToken(token, region string) (Presigned, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Presigned{}, &TokenError{"not base64url"}
	}
	u, err := url.Parse(string(raw))
	if err != nil || u.Scheme != "https" {
		return Presigned{}, &TokenError{"not a presigned https URL"}
	}
	if want := "kafka." + region + ".amazonaws.com"; u.Host != want {
		return Presigned{}, &TokenError{fmt.Sprintf("signed for host %q, not %q", u.Host, want)}
	}
	if a := u.Query().Get("Action"); a != "kafka-cluster:Connect" {
		return Presigned{}, &TokenError{fmt.Sprintf("action %q, not kafka-cluster:Connect", a)}
	}
	return s.verifyPresigned(u, "kafka-cluster", region, []string{"User-Agent"})
}

// maxPresignedExpiry is the longest X-Amz-Expires RDS and MSK accept.
const maxPresignedExpiry = 15 * time.Minute

// verifyPresigned checks a SigV4 query-string signature (AWS's "presigned
// URL") written out by hand from the SigV4 specification, not with the
// SDK that made it: scope, expiry, the signer's keys and session token,
// and the signature over the canonical request. unsigned are the query
// parameters added after signing.
func (s *STS) verifyPresigned(u *url.URL, service, region string, unsigned []string) (Presigned, error) {
	q := u.Query()
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-SignedHeaders") != "host" {
		return Presigned{}, &TokenError{"not AWS4-HMAC-SHA256 over the host header"}
	}
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return Presigned{}, &TokenError{"malformed X-Amz-Credential"}
	}
	keyID, day, gotRegion, gotService := scope[0], scope[1], scope[2], scope[3]
	if gotService != service || gotRegion != region {
		return Presigned{}, &TokenError{fmt.Sprintf("credential scoped to %s in %s, not %s in %s", gotService, gotRegion, service, region)}
	}
	signedAt, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != day {
		return Presigned{}, &TokenError{"X-Amz-Date is malformed or not the credential's day"}
	}
	seconds, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || seconds <= 0 || time.Duration(seconds)*time.Second > maxPresignedExpiry {
		return Presigned{}, &TokenError{"X-Amz-Expires must be 1 to 900 seconds"}
	}
	p := Presigned{Region: region, Service: service, SignedAt: signedAt, Expires: signedAt.Add(time.Duration(seconds) * time.Second)}
	secret, err := s.signerOf(keyID, q.Get("X-Amz-Security-Token"), &p)
	if err != nil {
		return Presigned{}, err
	}
	now := s.clock()
	if now.Before(signedAt.Add(-5*time.Minute)) || !now.Before(p.Expires) {
		return Presigned{}, &TokenError{"the token has expired or is not yet valid"}
	}
	want := sigV4(secret, day, region, service, q.Get("X-Amz-Date"), canonicalRequest(u, unsigned))
	if !hmac.Equal([]byte(want), []byte(q.Get("X-Amz-Signature"))) {
		return Presigned{}, &TokenError{"the signature does not match"}
	}
	return p, nil
}

// signerOf finds the secret of the access key that signed, and who it is;
// a session's token must match and the session must not have ended.
func (s *STS) signerOf(keyID, token string, p *Presigned) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[keyID]; ok {
		p.Caller = Caller{ARN: u.arn, Account: u.account}
		return u.secret, nil
	}
	sess, ok := s.sessions[keyID]
	if !ok {
		return "", &TokenError{"the access key is not one this STS issued"}
	}
	if token != sess.token {
		return "", &TokenError{"the security token is missing or wrong"}
	}
	if !s.now().Before(sess.expires) {
		return "", &TokenError{"the security token has expired"}
	}
	p.Caller = Caller{ARN: sess.arn, RoleARN: sess.roleARN, Account: sess.account}
	p.CredentialsExpire = sess.expires
	if sess.expires.Before(p.Expires) {
		p.Expires = sess.expires
	}
	return sess.secret, nil
}

func (s *STS) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// canonicalRequest is SigV4's canonical form of a presigned GET: every
// query parameter but the signature (and those added after signing),
// sorted, RFC 3986-encoded; the host as the one signed header; the
// payload hash of an empty body.
func canonicalRequest(u *url.URL, unsigned []string) string {
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "X-Amz-Signature" && !slices.Contains(unsigned, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var pairs []string
	for _, k := range keys {
		for _, v := range q[k] {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	empty := sha256.Sum256(nil)
	return strings.Join([]string{"GET", path, strings.Join(pairs, "&"), "host:" + u.Host + "\n", "host", hex.EncodeToString(empty[:])}, "\n")
}

// uriEncode is SigV4's encoding: everything but A-Z a-z 0-9 - _ . ~ as
// %XX, upper-case hex.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// sigV4 is the signature of a canonical request: the HMAC chain from the
// secret over day, region, service and "aws4_request", applied to the
// string to sign.
func sigV4(secret, day, region, service, amzDate, canonical string) string {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	hashed := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", amzDate, day + "/" + region + "/" + service + "/aws4_request", hex.EncodeToString(hashed[:])}, "\n")
	key := mac([]byte("AWS4"+secret), day)
	for _, part := range []string{region, service, "aws4_request"} {
		key = mac(key, part)
	}
	return hex.EncodeToString(mac(key, toSign))
}
