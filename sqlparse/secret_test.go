package sqlparse_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// A fake value that stands out if it ever leaks.
const fakeSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// TestSecretNeverPrints pins down that a parsed secret cannot be printed by
// any fmt verb, JSON, slog, or String() of the statements that hold it.
func TestSecretNeverPrints(t *testing.T) {
	stmts, err := sqlparse.Parse(`CREATE SECRET s AS '` + fakeSecret + `';
		ALTER SECRET s AS '` + fakeSecret + `';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET s, SESSION TOKEN = '` + fakeSecret + `');
		ALTER CONNECTION k SET (SESSION TOKEN = '` + fakeSecret + `')`)
	if err != nil {
		t.Fatal(err)
	}
	// A struct that holds a Secret in an unexported field: fmt cannot call
	// its methods there, so the value must not be reachable by reflection.
	type hidden struct{ s sqlparse.Secret }
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	for _, stmt := range stmts {
		var outputs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			outputs = append(outputs, fmt.Sprintf(verb, stmt))
		}
		j, err := json.Marshal(stmt)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(j), stmt.String())
		logger.Info("statement", "stmt", stmt)
		switch s := stmt.(type) {
		case *sqlparse.CreateSecret:
			outputs = append(outputs, fmt.Sprintf("%+v %#v", hidden{s.Value}, hidden{s.Value}))
			logger.Info("secret", "value", s.Value)
		}
		for _, out := range append(outputs, logs.String()) {
			if strings.Contains(out, fakeSecret) || strings.Contains(out, fmt.Sprintf("%x", fakeSecret)) {
				t.Errorf("secret printed: %s", out)
			}
		}
		if !strings.Contains(stmt.UnredactedSQL(), fakeSecret) {
			t.Errorf("UnredactedSQL lost the secret: %s", stmt.UnredactedSQL())
		}
	}
}

func TestSecretUnredacted(t *testing.T) {
	s := sqlparse.NewSecret("x")
	if s.Unredacted() != "x" || s.String() != sqlparse.Redacted {
		t.Fatalf("Unredacted=%q String=%q", s.Unredacted(), s.String())
	}
	var zero sqlparse.Secret
	if zero.Unredacted() != "" || fmt.Sprint(zero) != sqlparse.Redacted {
		t.Fatalf("zero Secret: %q %q", zero.Unredacted(), fmt.Sprint(zero))
	}
}

func TestErrorPositions(t *testing.T) {
	script := "SHOW SECRETS;\nCREATE CONNECTION c TO AWS (\n\tREGION = 'Bad')"
	_, err := sqlparse.Parse(script)
	var e *sqlerror.Error
	if !asError(err, &e) {
		t.Fatalf("want *sqlerror.Error, got %v", err)
	}
	if e.Code != sqlstate.InvalidParameterValue || e.Line != 3 || e.Column != 11 || script[e.Position:e.Position+5] != "'Bad'" {
		t.Fatalf("got code %s at line %d column %d offset %d", e.Code, e.Line, e.Column, e.Position)
	}
	if want := "\tREGION = 'Bad')\n\t         ^"; sqlparse.Caret(e, script) != want {
		t.Fatalf("caret:\n%s\nwant:\n%s", sqlparse.Caret(e, script), want)
	}
}

func TestLimits(t *testing.T) {
	long := strings.Repeat("a", sqlparse.MaxIdentifierLen+1)
	for _, tc := range []struct {
		name, sql, code string
	}{
		{"identifier too long", "DROP SECRET " + long, sqlstate.NameTooLong},
		{"quoted identifier too long", `DROP SECRET "` + long + `"`, sqlstate.NameTooLong},
		{"string too long", "CREATE SECRET s AS '" + strings.Repeat("x", sqlparse.MaxStringLen+1) + "'", sqlstate.ProgramLimitExceeded},
		{"script too long", strings.Repeat(" ", sqlparse.MaxScriptLen+1), sqlstate.ProgramLimitExceeded},
		{"NUL byte", "CREATE SECRET s AS 'a\x00b'", sqlstate.CharacterNotInRepert},
		{"NUL outside strings", "SHOW\x00 SECRETS", sqlstate.CharacterNotInRepert},
		{"invalid UTF-8", "CREATE SECRET s AS '\xff'", sqlstate.CharacterNotInRepert},
		{"escape in a quoted name", "CREATE SECRET \"a\x1b[2Jb\" AS 'x'", sqlstate.InvalidName},
		{"newline in a quoted name", "DROP CONNECTION \"fake\nCREATE CONNECTION\"", sqlstate.InvalidName},
		{"carriage return in a quoted name", "SHOW CREATE CONNECTION \"a\rb\"", sqlstate.InvalidName},
		{"direction override in a name", "CREATE SECRET \"a\u202eb\" AS 'x'", sqlstate.InvalidName},
		{"C1 control in a bare name", "CREATE SECRET a\u0085b AS 'x'", sqlstate.InvalidName},
		{"deep nesting", "SELECT * FROM mz_connections WHERE id IN " + strings.Repeat("(SELECT id FROM mz_connections WHERE id IN ", 40) + "('u1')" + strings.Repeat(")", 40), sqlstate.ProgramLimitExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlparse.Parse(tc.sql)
			var e *sqlerror.Error
			if !asError(err, &e) || e.Code != tc.code {
				t.Fatalf("want SQLSTATE %s, got %v", tc.code, err)
			}
		})
	}
}

func asError(err error, target **sqlerror.Error) bool {
	e, ok := err.(*sqlerror.Error)
	if ok {
		*target = e
	}
	return ok
}
