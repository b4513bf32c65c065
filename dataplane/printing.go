package dataplane

import (
	"encoding/xml"
	"fmt"
	"log/slog"

	"github.com/conncat/conncat/internal/safeprint"
)

// Every value the data plane hands an engine that reaches secrets prints
// only a description, under every fmt verb, JSON, XML and slog: the
// credentials provider in each aws.Config and S3Location (its client's
// credentials) here, AuthToken beside its type.

// String names the connection whose credentials the provider serves.
func (l *liveCredentials) String() string {
	return fmt.Sprintf("conncat credentials for connection %q (hidden)", l.name)
}

func (l *liveCredentials) Format(f fmt.State, _ rune)   { safeprint.Format(f, l.String()) }
func (l *liveCredentials) GoString() string             { return l.String() }
func (l *liveCredentials) LogValue() slog.Value         { return slog.StringValue(l.String()) }
func (l *liveCredentials) MarshalJSON() ([]byte, error) { return safeprint.JSON(l.String()) }
func (l *liveCredentials) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return safeprint.XML(e, start, l.String())
}

// String shows where the location points, not its client.
func (l *S3Location) String() string {
	return fmt.Sprintf("s3://%s/%s", l.Bucket, l.Prefix)
}

func (l *S3Location) Format(f fmt.State, _ rune)   { safeprint.Format(f, l.String()) }
func (l *S3Location) GoString() string             { return l.String() }
func (l *S3Location) LogValue() slog.Value         { return slog.StringValue(l.String()) }
func (l *S3Location) MarshalJSON() ([]byte, error) { return safeprint.JSON(l.String()) }
func (l *S3Location) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return safeprint.XML(e, start, l.String())
}
