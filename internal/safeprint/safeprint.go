// Package safeprint gives a value that holds secrets one printed form, its
// description, under every fmt verb (%+v and %#v included), encoding/json,
// encoding/xml and log/slog. Each such type declares the five one-line
// methods below and delegates here, so that no encoder can reach its
// fields by reflection:
//
//	func (v *T) Format(f fmt.State, _ rune)                        { safeprint.Format(f, v.String()) }
//	func (v *T) GoString() string                                  { return v.String() }
//	func (v *T) MarshalJSON() ([]byte, error)                      { return safeprint.JSON(v.String()) }
//	func (v *T) MarshalXML(e *xml.Encoder, s xml.StartElement) error { return safeprint.XML(e, s, v.String()) }
//	func (v *T) LogValue() slog.Value                              { return slog.StringValue(v.String()) }
package safeprint

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
)

// Format writes s whatever the verb and flags.
func Format(f fmt.State, s string) { _, _ = io.WriteString(f, s) }

// JSON encodes s as a JSON string.
func JSON(s string) ([]byte, error) { return json.Marshal(s) }

// XML encodes s as the element's character data.
func XML(e *xml.Encoder, start xml.StartElement, s string) error {
	return e.EncodeElement(s, start)
}
