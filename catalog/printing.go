package catalog

import (
	"encoding/xml"
	"fmt"
	"log/slog"

	"github.com/conncat/conncat/internal/safeprint"
)

// A Catalog holds its key and a StaticKey is one: both print only a
// description, under every fmt verb, JSON, XML and slog.

// String names the catalog without its key.
func (c *Executor) String() string { return "catalog.Executor(key hidden)" }

func (c *Executor) Format(f fmt.State, _ rune)   { safeprint.Format(f, c.String()) }
func (c *Executor) GoString() string             { return c.String() }
func (c *Executor) LogValue() slog.Value         { return slog.StringValue(c.String()) }
func (c *Executor) MarshalJSON() ([]byte, error) { return safeprint.JSON(c.String()) }
func (c *Executor) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return safeprint.XML(e, start, c.String())
}

// String describes the key without its bytes.
func (k StaticKey) String() string { return fmt.Sprintf("catalog.StaticKey(%d bytes hidden)", len(k)) }

func (k StaticKey) Format(f fmt.State, _ rune)   { safeprint.Format(f, k.String()) }
func (k StaticKey) GoString() string             { return k.String() }
func (k StaticKey) LogValue() slog.Value         { return slog.StringValue(k.String()) }
func (k StaticKey) MarshalJSON() ([]byte, error) { return safeprint.JSON(k.String()) }
func (k StaticKey) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return safeprint.XML(e, start, k.String())
}
