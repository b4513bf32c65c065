package sqlparse

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conncat/conncat/connection"
)

// formatter prints statements in canonical form. With redact set, secret
// literals print as '<redacted>'.
type formatter struct {
	strings.Builder
	redact bool
	// allLiterals also hides every option value, as Materialize's
	// redacted_create_sql does, for showing a statement's shape only.
	allLiterals bool
}

// RedactAllLiterals prints a statement with every literal value, secret or
// not, as '<redacted>'.
func RedactAllLiterals(s Statement) string {
	f := &formatter{redact: true, allLiterals: true}
	f.statement(s)
	return f.String()
}

func (s *CreateSecret) String() string       { return format(s, true) }
func (s *AlterSecret) String() string        { return format(s, true) }
func (s *Drop) String() string               { return format(s, true) }
func (s *CreateConnection) String() string   { return format(s, true) }
func (s *AlterConnection) String() string    { return format(s, true) }
func (s *ValidateConnection) String() string { return format(s, true) }
func (s *Show) String() string               { return format(s, true) }

// UnredactedSQL implements Statement. The result holds secrets.
func (s *CreateSecret) UnredactedSQL() string       { return format(s, false) }
func (s *AlterSecret) UnredactedSQL() string        { return format(s, false) }
func (s *Drop) UnredactedSQL() string               { return format(s, false) }
func (s *CreateConnection) UnredactedSQL() string   { return format(s, false) }
func (s *AlterConnection) UnredactedSQL() string    { return format(s, false) }
func (s *ValidateConnection) UnredactedSQL() string { return format(s, false) }
func (s *Show) UnredactedSQL() string               { return format(s, false) }

func format(s Statement, redact bool) string {
	f := &formatter{redact: redact}
	f.statement(s)
	return f.String()
}

func (f *formatter) statement(s Statement) {
	switch s := s.(type) {
	case *CreateSecret:
		f.head("CREATE SECRET ", s.IfNotExists, "IF NOT EXISTS ", s.Name)
		f.WriteString(" AS ")
		f.secret(s.Value)
	case *AlterSecret:
		f.head("ALTER SECRET ", s.IfExists, "IF EXISTS ", s.Name)
		if !f.renameTo(s.RenameTo) {
			f.WriteString(" AS ")
			f.secret(s.Value)
		}
	case *Drop:
		f.drop(s)
	case *CreateConnection:
		f.createConnection(s)
	case *AlterConnection:
		f.alterConnection(s)
	case *ValidateConnection:
		f.WriteString("VALIDATE CONNECTION ")
		f.name(s.Name)
		if s.S3Path != nil {
			f.WriteString(" WITH (S3 PATH = ")
			f.str(s.S3Path.String())
			f.WriteByte(')')
		}
	case *Show:
		f.WriteString("SHOW ")
		f.WriteString(string(s.Kind))
		if s.Name != nil {
			f.WriteByte(' ')
			f.name(*s.Name)
		}
	case *Query:
		f.WriteString(s.String())
	}
}

// head writes a statement's keywords, its IF [NOT] EXISTS and its name.
func (f *formatter) head(keywords string, cond bool, condText string, name Name) {
	f.WriteString(keywords)
	if cond {
		f.WriteString(condText)
	}
	f.name(name)
}

// renameTo writes RENAME TO new_name when there is one.
func (f *formatter) renameTo(n *Name) bool {
	if n == nil {
		return false
	}
	f.WriteString(" RENAME TO ")
	f.name(*n)
	return true
}

func (f *formatter) drop(s *Drop) {
	f.WriteString("DROP ")
	f.WriteString(string(s.Kind))
	f.WriteByte(' ')
	if s.IfExists {
		f.WriteString("IF EXISTS ")
	}
	for i, n := range s.Names {
		if i > 0 {
			f.WriteString(", ")
		}
		f.name(n)
	}
	if s.Cascade {
		f.WriteString(" CASCADE")
	}
}

func (f *formatter) createConnection(s *CreateConnection) {
	f.head("CREATE CONNECTION ", s.IfNotExists, "IF NOT EXISTS ", s.Name)
	f.WriteString(" TO ")
	f.WriteString(strings.ToUpper(string(s.Type)))
	f.WriteString(" (")
	for i, o := range s.Options {
		if i > 0 {
			f.WriteString(", ")
		}
		f.option(o)
	}
	f.WriteByte(')')
	if s.UsingAWS != nil {
		f.WriteString(" USING AWS CONNECTION ")
		f.name(*s.UsingAWS)
	}
	f.validate(s.Validate)
}

func (f *formatter) alterConnection(s *AlterConnection) {
	f.head("ALTER CONNECTION ", s.IfExists, "IF EXISTS ", s.Name)
	f.renameTo(s.RenameTo)
	for i, a := range s.Actions {
		if i > 0 {
			f.WriteByte(',')
		}
		f.WriteByte(' ')
		f.WriteString(string(a.Kind))
		f.WriteString(" (")
		if a.Kind == AlterSet {
			f.option(a.Option)
		} else {
			f.WriteString(string(a.Option.Name))
		}
		f.WriteByte(')')
	}
	f.validate(s.Validate)
}

func (f *formatter) option(o Option) {
	f.WriteString(string(o.Name))
	f.WriteString(" = ")
	f.optionValue(o)
}

// ValueSQL is the option's value as a statement prints it, with a secret
// literal redacted: 'text', a number of seconds, SECRET name, or
// '<redacted>'.
func (o Option) ValueSQL() string {
	f := &formatter{redact: true}
	f.optionValue(o)
	return f.String()
}

func (f *formatter) optionValue(o Option) {
	if f.allLiterals && o.Kind != ValueSecretRef {
		f.WriteString("'" + Redacted + "'")
		return
	}
	switch o.Kind {
	case ValueString:
		f.str(o.String)
	case ValueSecretRef:
		f.WriteString("SECRET ")
		f.name(o.SecretRef)
	case ValueSecret:
		f.secret(o.Secret)
	case ValueDuration:
		f.WriteString(strconv.FormatInt(int64(o.Duration/time.Second), 10))
	}
}

func (f *formatter) validate(v *bool) {
	if v != nil {
		f.WriteString(" WITH (VALIDATE = ")
		f.WriteString(strconv.FormatBool(*v))
		f.WriteByte(')')
	}
}

func (f *formatter) secret(s Secret) {
	if f.redact {
		f.WriteString("'" + Redacted + "'")
		return
	}
	f.str(s.Unredacted())
}

func (f *formatter) str(s string) {
	f.WriteString(QuoteString(s))
}

func (f *formatter) name(n Name) {
	f.WriteString(QuoteIdent(n.Value))
}

// QuoteString renders s as a SQL string literal.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// QuoteIdent renders an identifier so that it parses back to itself: bare
// when it is a lower-case word that is not a keyword, double-quoted otherwise.
func QuoteIdent(s string) string {
	if isBareIdent(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func isBareIdent(s string) bool {
	if s == "" || keywords[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			return false
		}
	}
	return true
}

// keywords are the words printed quoted when used as names, so that a name
// can never be mistaken for a clause when a statement is parsed back: the
// statements' words and every word of every option.
var keywords = withOptionWords(map[string]bool{
	"access": true, "alter": true, "arn": true, "as": true, "assume": true, "aws": true,
	"by": true, "cascade": true, "connection": true, "connections": true, "create": true,
	"drop": true, "duration": true, "endpoint": true, "exists": true, "false": true,
	"for": true, "id": true, "if": true, "key": true, "name": true, "not": true,
	"path": true, "permission": true, "policy": true, "prefix": true, "region": true,
	"rename": true, "reset": true, "restrict": true, "role": true, "s3": true,
	"secret": true, "secrets": true, "select": true, "session": true, "set": true,
	"show": true, "sts": true, "to": true, "token": true, "true": true, "trust": true,
	"using": true, "validate": true, "with": true,
})

// Keywords lists the dialect's keywords in upper case, sorted: what a
// client offers for completion and quotes when used as a name.
func Keywords() []string {
	out := make([]string, 0, len(keywords))
	for w := range keywords {
		out = append(out, strings.ToUpper(w))
	}
	slices.Sort(out)
	return out
}

func withOptionWords(m map[string]bool) map[string]bool {
	for _, d := range connection.Options {
		for _, w := range d.Words() {
			m[w] = true
		}
	}
	return m
}
