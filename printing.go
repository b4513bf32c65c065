package conncat

import (
	"encoding/xml"
	"fmt"
	"log/slog"

	"github.com/conncat/conncat/internal/safeprint"
)

// Every value conncat hands an engine that holds (or reaches) secrets
// prints only a description, under every fmt verb, JSON, XML and slog:
// the Catalog (its key, its cached credentials) here; the credentials
// provider in each aws.Config, S3Location and AuthToken in dataplane.

// String names the catalog without anything it holds.
func (c *Catalog) String() string { return "conncat.Catalog(" + c.plane.Name() + ")" }

func (c *Catalog) Format(f fmt.State, _ rune)   { safeprint.Format(f, c.String()) }
func (c *Catalog) GoString() string             { return c.String() }
func (c *Catalog) LogValue() slog.Value         { return slog.StringValue(c.String()) }
func (c *Catalog) MarshalJSON() ([]byte, error) { return safeprint.JSON(c.String()) }
func (c *Catalog) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return safeprint.XML(e, start, c.String())
}
