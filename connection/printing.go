package connection

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat/internal/safeprint"
)

// Values of this package that hold secrets (Spec, Cache, the static-key
// provider) print only their description, under every fmt verb, JSON, XML
// and slog: an engine that logs what conncat handed it logs no key.

// Format makes every verb, %+v and %#v included, print String.
func (s Spec) Format(f fmt.State, _ rune) { safeprint.Format(f, s.String()) }

// GoString is String, for %#v through interfaces that bypass Format.
func (s Spec) GoString() string { return s.String() }

// LogValue keeps the secret fields out of structured logs (slog's JSON
// handler would otherwise print every field).
func (s Spec) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON prints String: a Spec never reaches JSON with its secrets,
// not even nested in another value.
func (s Spec) MarshalJSON() ([]byte, error) { return safeprint.JSON(s.String()) }

// MarshalXML prints String, as MarshalJSON does.
func (s Spec) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return safeprint.XML(e, start, s.String())
}

// String describes the cache without the credentials it holds.
func (c *Cache) String() string { return "connection.Cache(credentials hidden)" }

func (c *Cache) Format(f fmt.State, _ rune)   { safeprint.Format(f, c.String()) }
func (c *Cache) GoString() string             { return c.String() }
func (c *Cache) LogValue() slog.Value         { return slog.StringValue(c.String()) }
func (c *Cache) MarshalJSON() ([]byte, error) { return safeprint.JSON(c.String()) }
func (c *Cache) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return safeprint.XML(e, start, c.String())
}

// staticKeys is the provider of a connection with static keys. The SDK's
// StaticCredentialsProvider prints its keys under every verb and encoder,
// so conncat hands out this instead.
type staticKeys struct{ creds aws.Credentials }

func newStaticKeys(accessKeyID, secretAccessKey, sessionToken string) *staticKeys {
	return &staticKeys{creds: aws.Credentials{
		AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, SessionToken: sessionToken,
		Source: "conncat:StaticKeys",
	}}
}

// Retrieve returns the keys; they never expire.
func (p *staticKeys) Retrieve(context.Context) (aws.Credentials, error) { return p.creds, nil }

func (p *staticKeys) String() string               { return "connection static keys (hidden)" }
func (p *staticKeys) Format(f fmt.State, _ rune)   { safeprint.Format(f, p.String()) }
func (p *staticKeys) GoString() string             { return p.String() }
func (p *staticKeys) LogValue() slog.Value         { return slog.StringValue(p.String()) }
func (p *staticKeys) MarshalJSON() ([]byte, error) { return safeprint.JSON(p.String()) }
func (p *staticKeys) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return safeprint.XML(e, start, p.String())
}
