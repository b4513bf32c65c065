package main

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"

	"github.com/xdg-go/scram"
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

// conversation is one SCRAM-SHA-256 authentication, server side, against
// v (xdg-go/scram does the exchange). The user the client-first message
// names is ignored, as PostgreSQL does: the startup message named it.
func (v *verifier) conversation() (*scram.ServerConversation, error) {
	server, err := scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) {
		return scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(v.salt), Iters: v.iterations},
			StoredKey: v.storedKey, ServerKey: v.serverKey}, nil
	})
	if err != nil {
		return nil, err
	}
	return server.NewConversation(), nil
}
