package awscreds

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat/internal/safeprint"
)

// Values of this package that hold credentials (Cache, the static-key
// provider) print only their description, under every fmt verb, JSON, XML
// and slog: an engine that logs what conncat handed it logs no key.

// String describes the cache without the credentials it holds.
func (c *Cache) String() string { return "awscreds.Cache(hidden)" }

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
