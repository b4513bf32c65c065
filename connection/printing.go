package connection

import (
	"encoding/xml"
	"fmt"
	"log/slog"

	"github.com/conncat/conncat/internal/safeprint"
)

// A Spec holds secrets: it prints only its description, under every fmt
// verb, JSON, XML and slog, so an engine that logs one logs no key.

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
