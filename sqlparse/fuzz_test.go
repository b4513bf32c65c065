package sqlparse_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// FuzzParse checks, for any input: no panic; every error is an *sqlerror.Error with
// a SQLSTATE and a position inside the input; every statement prints to
// SQL that re-parses and prints identically (a fixed point); and the
// redacted form never contains a secret's value.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"CREATE SECRET s AS 'x'",
		"CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R', REGION = 'us-east-1', ASSUME ROLE DURATION = '1h') WITH (VALIDATE)",
		"CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = 'tok')",
		"CREATE CONNECTION s TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION a",
		"ALTER CONNECTION c SET (REGION = 'x'), DROP (ENDPOINT) WITH (VALIDATE = false)",
		"ALTER SECRET \"S\" RENAME TO t; DROP CONNECTION IF EXISTS a, b CASCADE",
		"VALIDATE CONNECTION c WITH (S3 PATH = 's3://b-1/x/')",
		"SHOW TRUST POLICY FOR CONNECTION c; SHOW SECRETS",
		"SELECT principal, external_id FROM mz_aws_connections aws JOIN mz_connections c ON aws.id = c.id WHERE c.name = 'aws_conn'",
		"WITH RECURSIVE d(x) AS (SELECT 1 UNION SELECT x+1 FROM d) SELECT * FROM d LIMIT 3, 4",
		"/* c /* n */ */ SHOW CONNECTIONS -- x",
		"CREATE SECRET s AS 'unterminated",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		for _, p := range sqlparse.Split(input) {
			if p.Offset < 0 || p.Offset+len(p.Text) > len(input) || input[p.Offset:p.Offset+len(p.Text)] != p.Text {
				t.Fatalf("Split piece %+v does not match the input", p)
			}
			stmt, err := sqlparse.ParsePiece(input, p)
			if err != nil {
				var e *sqlerror.Error
				if !errors.As(err, &e) || len(e.Code) != 5 {
					t.Fatalf("error is not a coded *sqlerror.Error: %#v", err)
				}
				if e.Position > len(input) {
					t.Fatalf("error position %d beyond input of %d bytes", e.Position, len(input))
				}
				_ = sqlparse.Caret(e, input)
				continue
			}
			printed := stmt.UnredactedSQL()
			again, err := sqlparse.ParseOne(printed)
			if err != nil {
				t.Fatalf("printed form does not re-parse:\ninput:   %q\nprinted: %q\nerror:   %v", p.Text, printed, err)
			}
			if got := again.UnredactedSQL(); got != printed {
				t.Fatalf("not a fixed point:\nfirst:  %q\nsecond: %q", printed, got)
			}
			// The redacted form is exactly the unredacted one with the
			// secret literal swapped for '<redacted>'.
			if v, ok := secretOf(stmt); ok {
				want := strings.Replace(printed, sqlparse.QuoteString(v), "'"+sqlparse.Redacted+"'", 1)
				if got := stmt.String(); got != want {
					t.Fatalf("String() is not the redacted statement:\n got: %q\nwant: %q", got, want)
				}
			} else if stmt.String() != printed {
				t.Fatalf("a statement without secrets prints differently redacted: %q vs %q", stmt.String(), printed)
			}
		}
	})
}

// secretOf returns the secret literal a statement holds, if any.
func secretOf(s sqlparse.Statement) (string, bool) {
	switch s := s.(type) {
	case *sqlparse.CreateSecret:
		return s.Value.Unredacted(), true
	case *sqlparse.AlterSecret:
		return s.Value.Unredacted(), s.RenameTo == nil
	case *sqlparse.CreateConnection:
		if o, ok := s.Options.Get(connection.SessionToken); ok && o.Kind == sqlparse.ValueSecret {
			return o.Secret.Unredacted(), true
		}
	case *sqlparse.AlterConnection:
		for _, a := range s.Actions {
			if a.Kind == sqlparse.AlterSet && a.Option.Kind == sqlparse.ValueSecret {
				return a.Option.Secret.Unredacted(), true
			}
		}
	}
	return "", false
}
