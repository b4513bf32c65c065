package sqlparse

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/conncat/conncat/connection"
)

// Statement is one parsed statement. String returns canonical SQL with
// every secret literal replaced by '<redacted>'; UnredactedSQL is the only
// way to print a statement with its secrets, and its result must never be
// logged or persisted.
type Statement interface {
	fmt.Stringer
	// UnredactedSQL returns canonical SQL that re-parses to the same
	// statement, secrets included.
	UnredactedSQL() string
	// Pos is the byte offset of the statement's first token in the script.
	Pos() int
	statement()
}

// Secret holds a secret value: the value of CREATE/ALTER SECRET or an inline
// SESSION TOKEN. Every fmt verb, String, GoString and JSON print
// "<redacted>". The value sits behind a pointer so that even a struct that
// holds a Secret in an unexported field prints an address, not the value.
type Secret struct{ v *string }

// Redacted is what a secret prints as.
const Redacted = "<redacted>"

// NewSecret wraps a value.
func NewSecret(value string) Secret { return Secret{v: &value} }

// Unredacted returns the secret's value. Do not log or persist the result.
func (s Secret) Unredacted() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

func (s Secret) String() string                { return Redacted }
func (s Secret) GoString() string              { return "sqlparse.Secret(" + Redacted + ")" }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(Redacted)) }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"` + Redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(Redacted), nil }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(Redacted) }

// Name is an identifier: folded to lower case unless it was quoted.
type Name struct {
	Value string
	Pos   int
}

// ValueKind says which form an option's value takes.
type ValueKind uint8

const (
	// ValueString is a string literal ('...').
	ValueString ValueKind = iota + 1
	// ValueSecretRef is SECRET name.
	ValueSecretRef
	// ValueSecret is a string literal that is itself a secret (an inline
	// SESSION TOKEN); it is printed redacted.
	ValueSecret
	// ValueDuration is an ASSUME ROLE DURATION, given as seconds or as '1h'.
	ValueDuration
)

// Option is one option of a connection, with the source positions of its
// name and value so that later checks (in the catalog) can point at them.
type Option struct {
	Name connection.Option
	Kind ValueKind
	// String is the value of a ValueString option.
	String string
	// SecretRef is the referenced secret of a ValueSecretRef option.
	SecretRef Name
	// Secret is the value of a ValueSecret option.
	Secret Secret
	// Duration is the value of a ValueDuration option.
	Duration time.Duration
	// Pos is the offset of the option's name; ValuePos of its value.
	Pos, ValuePos int
}

// Options is a connection's options in the order written.
type Options []Option

// Get returns the option with the given name.
func (os Options) Get(name connection.Option) (Option, bool) {
	for _, o := range os {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// Has reports whether the option is present.
func (os Options) Has(name connection.Option) bool {
	_, ok := os.Get(name)
	return ok
}

// ConnectionType is the kind of connection.
type ConnectionType string

// Connection types, as stored in mz_connections.type.
const (
	ConnectionAWS ConnectionType = "aws"
	ConnectionS3  ConnectionType = "s3"
)

// ObjectKind is the kind of object a DROP names.
type ObjectKind string

// Object kinds, spelled as in SQL.
const (
	ObjectSecret     ObjectKind = "SECRET"
	ObjectConnection ObjectKind = "CONNECTION"
)

// CreateSecret is CREATE SECRET [IF NOT EXISTS] name AS 'value'.
type CreateSecret struct {
	IfNotExists bool
	Name        Name
	Value       Secret
	// ValuePos is the offset of the value literal.
	ValuePos int
	pos      int
}

// AlterSecret is ALTER SECRET [IF EXISTS] name AS 'value' or ... RENAME TO new.
// Exactly one of Value and RenameTo is set.
type AlterSecret struct {
	IfExists bool
	Name     Name
	Value    Secret
	RenameTo *Name
	pos      int
}

// Drop is DROP SECRET|CONNECTION [IF EXISTS] name [, ...] [CASCADE | RESTRICT].
type Drop struct {
	Kind     ObjectKind
	IfExists bool
	Names    []Name
	Cascade  bool
	pos      int
}

// CreateConnection is CREATE CONNECTION ... TO AWS (...) or TO S3 (...) USING AWS CONNECTION x.
type CreateConnection struct {
	IfNotExists bool
	Name        Name
	Type        ConnectionType
	Options     Options
	// UsingAWS is the AWS connection an S3 connection uses.
	UsingAWS *Name
	// Validate is WITH (VALIDATE [= bool]); nil when not given.
	Validate *bool
	pos      int
}

// AlterAction is one SET (option), DROP (option) or RESET (option).
type AlterAction struct {
	Kind AlterKind
	// Option is the option set by SET; for DROP and RESET only its Name and Pos are set.
	Option Option
}

// AlterKind is what an ALTER CONNECTION action does.
type AlterKind string

// The ALTER CONNECTION actions. DROP and RESET both remove an option: for
// these options the default is the option's absence.
const (
	AlterSet   AlterKind = "SET"
	AlterDrop  AlterKind = "DROP"
	AlterReset AlterKind = "RESET"
)

// AlterConnection is ALTER CONNECTION [IF EXISTS] name action [, ...] [WITH (VALIDATE)]
// or ALTER CONNECTION [IF EXISTS] name RENAME TO new.
type AlterConnection struct {
	IfExists bool
	Name     Name
	Actions  []AlterAction
	RenameTo *Name
	Validate *bool
	pos      int
}

// ValidateConnection is VALIDATE CONNECTION name [WITH (S3 PATH = '...')].
type ValidateConnection struct {
	Name Name
	// S3Path is set when WITH (S3 PATH = ...) was given.
	S3Path *connection.S3URL
	// S3PathPos is the offset of the S3 PATH value.
	S3PathPos int
	pos       int
}

// ShowKind is what a SHOW statement shows.
type ShowKind string

// The SHOW statements.
const (
	ShowConnections      ShowKind = "CONNECTIONS"
	ShowSecrets          ShowKind = "SECRETS"
	ShowCreateConnection ShowKind = "CREATE CONNECTION"
	ShowTrustPolicy      ShowKind = "TRUST POLICY FOR CONNECTION"
	ShowPermissionPolicy ShowKind = "PERMISSION POLICY FOR CONNECTION"
)

// Show is one of the SHOW statements; Name is set for those about one connection.
type Show struct {
	Kind ShowKind
	Name *Name
	pos  int
}

func (s *CreateSecret) Pos() int       { return s.pos }
func (s *AlterSecret) Pos() int        { return s.pos }
func (s *Drop) Pos() int               { return s.pos }
func (s *CreateConnection) Pos() int   { return s.pos }
func (s *AlterConnection) Pos() int    { return s.pos }
func (s *ValidateConnection) Pos() int { return s.pos }
func (s *Show) Pos() int               { return s.pos }

func (*CreateSecret) statement()       {}
func (*AlterSecret) statement()        {}
func (*Drop) statement()               {}
func (*CreateConnection) statement()   {}
func (*AlterConnection) statement()    {}
func (*ValidateConnection) statement() {}
func (*Show) statement()               {}
