package main

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// scramIterations is PostgreSQL's default for SCRAM-SHA-256 verifiers.
const scramIterations = 4096

// verifier is what the server keeps of the password (RFC 5802): the salt
// and the stored and server keys, never the password itself.
type verifier struct {
	salt                 []byte
	storedKey, serverKey []byte
	iterations           int
}

func newVerifier(password string) (*verifier, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return nil, err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return &verifier{salt: salt, storedKey: stored[:], serverKey: hmacSHA256(salted, "Server Key"), iterations: scramIterations}, nil
}

// decoyVerifier is the verifier a user that does not exist is answered
// with: no password matches it, and its salt is derived from the name
// with a key only this process knows, so the same unknown name always
// gets the same salt, a different name another one — as real users of a
// PostgreSQL server look. (One salt for every unknown name would tell
// them apart from the real user's.)
func decoyVerifier(key []byte, user string) *verifier {
	salt := hmacSHA256(key, "conncat decoy salt\x00"+user)[:16]
	return &verifier{salt: salt, storedKey: hmacSHA256(key, "conncat decoy stored key\x00"+user),
		serverKey: hmacSHA256(key, "conncat decoy server key\x00"+user), iterations: scramIterations}
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// scramExchange is one SCRAM-SHA-256 authentication, server side.
type scramExchange struct {
	v                            *verifier
	clientFirstBare, serverFirst string
	gs2Header, nonce             string
}

var errSCRAM = errors.New("SCRAM authentication failed")

// first reads the client-first-message and returns the server-first.
func (x *scramExchange) first(clientFirst string) (string, error) {
	// gs2-header: "n,," (no channel binding) or "y,," (client could but
	// the server did not offer it). The user name in it is ignored, as
	// PostgreSQL does: the startup message named the user.
	parts := strings.SplitN(clientFirst, ",", 3)
	if len(parts) != 3 || (parts[0] != "n" && parts[0] != "y") {
		return "", fmt.Errorf("%w: unsupported channel binding", errSCRAM)
	}
	x.gs2Header, x.clientFirstBare = parts[0]+","+parts[1]+",", parts[2]
	var clientNonce string
	for _, attr := range strings.Split(x.clientFirstBare, ",") {
		if v, ok := strings.CutPrefix(attr, "r="); ok {
			clientNonce = v
		}
	}
	if clientNonce == "" {
		return "", fmt.Errorf("%w: no client nonce", errSCRAM)
	}
	own := make([]byte, 18)
	if _, err := rand.Read(own); err != nil {
		return "", err
	}
	x.nonce = clientNonce + base64.RawStdEncoding.EncodeToString(own)
	x.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", x.nonce, base64.StdEncoding.EncodeToString(x.v.salt), x.v.iterations)
	return x.serverFirst, nil
}

// final checks the client-final-message's proof and returns the
// server-final-message (the server's signature).
func (x *scramExchange) final(clientFinal string) (string, error) {
	i := strings.LastIndex(clientFinal, ",p=")
	if i < 0 {
		return "", fmt.Errorf("%w: no proof", errSCRAM)
	}
	withoutProof, proofText := clientFinal[:i], clientFinal[i+3:]
	var binding, nonce string
	for _, attr := range strings.Split(withoutProof, ",") {
		if v, ok := strings.CutPrefix(attr, "c="); ok {
			binding = v
		}
		if v, ok := strings.CutPrefix(attr, "r="); ok {
			nonce = v
		}
	}
	if binding != base64.StdEncoding.EncodeToString([]byte(x.gs2Header)) || nonce != x.nonce {
		return "", fmt.Errorf("%w: channel binding or nonce mismatch", errSCRAM)
	}
	proof, err := base64.StdEncoding.DecodeString(proofText)
	if err != nil || len(proof) != sha256.Size {
		return "", fmt.Errorf("%w: malformed proof", errSCRAM)
	}
	authMessage := x.clientFirstBare + "," + x.serverFirst + "," + withoutProof
	signature := hmacSHA256(x.v.storedKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	for i := range clientKey {
		clientKey[i] = proof[i] ^ signature[i]
	}
	stored := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(stored[:], x.v.storedKey) != 1 {
		return "", errSCRAM
	}
	return "v=" + base64.StdEncoding.EncodeToString(hmacSHA256(x.v.serverKey, authMessage)), nil
}
