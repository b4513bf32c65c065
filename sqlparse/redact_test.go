package sqlparse_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// marker stands for a secret in these tests: if it shows up anywhere, a
// secret would have.
const marker = "MarkedSecret4b1f"

// redactCases hold a secret (the marker) in every way a user can type one,
// including statements that do not parse.
var redactCases = []struct{ name, script string }{
	{"plain", `CREATE SECRET s AS 'MarkedSecret4b1f'`},
	{"missing ; after SELECT", "SELECT 1\nCREATE SECRET s AS 'MarkedSecret4b1f'"},
	{"missing ; after SHOW", "SHOW SECRETS CREATE SECRET s AS 'MarkedSecret4b1f'"},
	{"missing ; after DROP", "DROP SECRET a CREATE SECRET s AS 'MarkedSecret4b1f'"},
	{"missing ; after VALIDATE", "VALIDATE CONNECTION c CREATE SECRET s AS 'MarkedSecret4b1f'"},
	{"missing ; then bare value", "SHOW SECRETS CREATE SECRET s MarkedSecret4b1f"},
	{"invalid UTF-8 in literal", "CREATE SECRET s AS 'MarkedSecret4b1f\xff'"},
	{"NUL in literal", "CREATE SECRET s AS 'MarkedSecret4b1f\x00'"},
	{"NUL in literal after SELECT", "SELECT 1 CREATE SECRET s AS 'MarkedSecret4b1f\x00'"},
	{"literal over 64 KiB", "CREATE SECRET s AS 'MarkedSecret4b1f" + strings.Repeat("x", sqlparse.MaxStringLen) + "'"},
	{"double quotes", `CREATE SECRET s AS "MarkedSecret4b1f"`},
	{"backticks", "CREATE SECRET s AS `MarkedSecret4b1f`"},
	{"bare word", `CREATE SECRET s AS MarkedSecret4b1f`},
	{"bare word with key characters", `CREATE SECRET s AS MarkedSecret4b1f/x+y`},
	{"bare word without AS", `CREATE SECRET s MarkedSecret4b1f`},
	{"number-led bare value", `CREATE SECRET s AS 9MarkedSecret4b1f`},
	{"commas in a bare value", `CREATE SECRET s AS a,MarkedSecret4b1f`},
	{"alter with =", `ALTER SECRET IF EXISTS s = MarkedSecret4b1f`},
	{"unterminated", "CREATE SECRET s AS 'MarkedSecret4b1f\n; SHOW SECRETS"},
	{"two literals", `CREATE SECRET s AS 'a' 'MarkedSecret4b1f'`},
	{"session token bare", `CREATE CONNECTION c TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET k, SESSION TOKEN = MarkedSecret4b1f)`},
	{"session token without =", `CREATE CONNECTION c TO AWS (SESSION TOKEN 'MarkedSecret4b1f')`},
	{"session token quoted identifier", `ALTER CONNECTION c SET (SESSION TOKEN = "MarkedSecret4b1f")`},
	{"secret key inline", `CREATE CONNECTION c TO AWS (SECRET ACCESS KEY = 'MarkedSecret4b1f')`},
	{"secret key as access key ID", `CREATE CONNECTION c TO AWS (ACCESS KEY ID = 'MarkedSecret4b1f/+x')`},
	{"endpoint with password", `CREATE CONNECTION c TO AWS (ENDPOINT = 'https://u:MarkedSecret4b1f@h', oops)`},
	{"unknown option", `CREATE CONNECTION c TO AWS (SESION TOKEN = 'MarkedSecret4b1f')`},
	{"parsed session token", `CREATE CONNECTION c TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET k, SESSION TOKEN = 'MarkedSecret4b1f')`},
}

// TestRedactHidesEveryMaybeSecret checks the echo, the caret and every
// field of the error for each way of typing a secret.
func TestRedactHidesEveryMaybeSecret(t *testing.T) {
	for _, tc := range redactCases {
		t.Run(tc.name, func(t *testing.T) {
			assertNoMarker(t, tc.script)
		})
	}
}

// TestRedactKeepsWhatIsNotSecret pins down what stays readable, so that a
// failed statement can still be fixed from its echo.
func TestRedactKeepsWhatIsNotSecret(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT name FROM mz_secrets WHERE name = 'x'`, `SELECT name FROM mz_secrets WHERE name = 'x'`},
		{`SHOW CREATE CONNECTION "a b"`, `SHOW CREATE CONNECTION "a b"`},
		// Parsed: only the session token is hidden.
		{`CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R', SESSION TOKEN = 't', ASSUME ROLE DURATION = '1h')`,
			`CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R', SESSION TOKEN = '<redacted>', ASSUME ROLE DURATION = '1h')`},
		// Not parsed (bad region): non-secret values and references stay.
		{`CREATE CONNECTION c TO AWS (REGION = 'Bad', ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET k, ENDPOINT = 'https://h')`,
			`CREATE CONNECTION c TO AWS (REGION = 'Bad', ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET k, ENDPOINT = 'https://h')`},
		{`ALTER SECRET s RENAME TO t`, `ALTER SECRET s RENAME TO t`},
		{`ALTER SECRET s AS 'x'`, `ALTER SECRET s AS '<redacted>'`},
		{`SELECT 1 SHOW`, `SELECT 1 SHOW`},
	} {
		if got := sqlparse.RedactSource(tc.in); got != tc.want {
			t.Errorf("RedactSource(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// assertNoMarker parses script the way an engine or the REPL would and
// fails if the marker reaches the echo, the caret, or the error.
func assertNoMarker(t *testing.T, script string) {
	t.Helper()
	surfaces := map[string]string{"echo": sqlparse.RedactSource(script)}
	for i, p := range sqlparse.Split(script) {
		surfaces["piece echo"+string(rune('0'+i%10))] = sqlparse.RedactSource(p.Text)
		_, err := sqlparse.ParsePiece(script, p)
		var e *sqlerror.Error
		if errors.As(err, &e) {
			surfaces["error"] = e.Error()
			surfaces["detail"] = e.Detail
			surfaces["hint"] = e.Hint
			surfaces["caret"] = sqlparse.Caret(e, script)
			surfaces["caret in piece"] = sqlparse.CaretIn(e, script, p)
		}
	}
	for name, s := range surfaces {
		if strings.Contains(s, marker) {
			t.Errorf("%s shows the secret:\nscript: %q\n%s: %q", name, script, name, s)
		}
	}
}

// secretSlots are places where a value is the secret, as %s.
var secretSlots = []string{
	"CREATE SECRET s AS %s",
	"CREATE SECRET IF NOT EXISTS \"S 1\" = %s",
	"ALTER SECRET s AS %s",
	"ALTER SECRET s %s",
	"CREATE CONNECTION c TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = %s)",
	"CREATE CONNECTION c TO AWS (SESSION TOKEN = %s, REGION = 'us-east-1')",
	"ALTER CONNECTION c SET (SESSION TOKEN %s)",
}

// valueForms write the marker as a user might: quoted, unquoted, broken.
var valueForms = []string{
	"'%s'", "\"%s\"", "`%s`", "%s", "'%s", "'%s\x00'", "'%s\xfe'", "%s/k+y=", "'a''%s'", "E'%s'",
}

// contextWords are what may come before or after a statement, without a
// separating ';' or with one. No quote or comment opener: those change what
// the marker is inside of, which the slot tests cover.
var contextWords = []string{
	"SELECT 1", "SHOW SECRETS", "DROP SECRET a", "VALIDATE CONNECTION c", ";", ",", "(", ")", "=",
	"AS", "SECRET", "REGION", "x", "42", "CREATE", "ALTER", "SESSION TOKEN", "WITH (VALIDATE)", "\n",
}

// FuzzRedactMarkedValue: whatever surrounds a secret typed in any form in
// any slot, no surface shows it.
func FuzzRedactMarkedValue(f *testing.F) {
	f.Add([]byte{0, 1, 2}, uint8(0), uint8(0), []byte{4})
	f.Add([]byte{}, uint8(3), uint8(4), []byte{})
	f.Add([]byte{1, 9, 9}, uint8(6), uint8(7), []byte{5, 6})
	f.Fuzz(func(t *testing.T, before []byte, slot, form uint8, after []byte) {
		value := strings.ReplaceAll(valueForms[int(form)%len(valueForms)], "%s", marker)
		stmt := strings.Replace(secretSlots[int(slot)%len(secretSlots)], "%s", value, 1)
		script := words(before) + " " + stmt + " " + words(after)
		assertNoMarker(t, script)
	})
}

func words(b []byte) string {
	var parts []string
	for _, c := range b[:min(len(b), 32)] {
		parts = append(parts, contextWords[int(c)%len(contextWords)])
	}
	return strings.Join(parts, " ")
}

// TestRedactKeepsTypoedNonSecretValues: the value after a misspelt option
// name that is never secret stays readable in the echo and history, so the
// typo can be fixed; after a misspelt secret option it stays hidden.
func TestRedactKeepsTypoedNonSecretValues(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`CREATE CONNECTION c TO AWS (REGON = 'us-east-1')`, `CREATE CONNECTION c TO AWS (REGON = 'us-east-1')`},
		{`CREATE CONNECTION c TO AWS (ASSUME ROLE ANR = 'arn:aws:iam::123456789012:role/R')`, `CREATE CONNECTION c TO AWS (ASSUME ROLE ANR = 'arn:aws:iam::123456789012:role/R')`},
		{`CREATE CONNECTION c TO AWS (SESION TOKEN = 'tok')`, `CREATE CONNECTION c TO AWS (SESION TOKEN = '<redacted>')`},
		{`CREATE CONNECTION c TO AWS (SECRET ACCES KEY = 'key')`, `CREATE CONNECTION c TO AWS (SECRET ACCES KEY = '<redacted>')`},
		{`CREATE CONNECTION c TO AWS (TOKEN = 'tok')`, `CREATE CONNECTION c TO AWS (TOKEN = '<redacted>')`},
	} {
		if got := sqlparse.RedactSource(tc.in); got != tc.want {
			t.Errorf("RedactSource(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
