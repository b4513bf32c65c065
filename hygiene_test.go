package conncat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/sqlparse"
)

// TestSecretsNeverPrinted: every value that holds a secret, printed with
// every fmt verb, marshalled to JSON and logged through slog's text and
// JSON handlers (installed as the default logger, so anything conncat or
// the engine logs is captured too), never shows the secret — and neither
// do results, notices or errors of a session that uses it.
func TestSecretsNeverPrinted(t *testing.T) {
	const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	const token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
	var logs bytes.Buffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(previous)
	text := slog.New(slog.NewTextHandler(&logs, nil))

	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)))
	ctx := context.Background()

	var out strings.Builder
	record := func(vs ...any) {
		for _, v := range vs {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				fmt.Fprintf(&out, verb+"\n", v)
			}
			b, _ := json.Marshal(v)
			out.Write(b)
			slog.Info("value", "v", v)
			text.Info("value", "v", v)
		}
	}
	script := `CREATE SECRET sk AS '` + secretKey + `';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = '` + token + `', STS ENDPOINT = '` + fake.URL + `');
		ALTER SECRET sk AS '` + secretKey + `';
		SHOW CREATE CONNECTION k;
		SELECT * FROM mz_aws_connections;
		VALIDATE CONNECTION k;
		CREATE SECRE broken AS '` + secretKey + `'`
	for _, p := range sqlparse.Split(script) {
		if stmt, err := sqlparse.ParsePiece(script, p); err == nil {
			record(stmt)
		} else {
			record(err)
			var e *conncat.Error
			if errors.As(err, &e) {
				out.WriteString(e.Caret(script))
			}
		}
		res, err := cat.ExecPiece(ctx, script, p)
		record(res, err)
	}
	r, err := cat.Resolve(ctx, "k")
	if err != nil || r.AWS.SecretAccessKey != secretKey || r.AWS.SessionToken != token {
		t.Fatalf("resolve: %v", err) // the values are there to be used...
	}
	record(r, *r, r.AWS) // ...but never printed

	for name, s := range map[string]string{"fmt and JSON": out.String(), "slog": logs.String()} {
		for _, leak := range []string{secretKey, token} {
			if strings.Contains(s, leak) {
				i := strings.Index(s, leak)
				t.Errorf("%s output holds a secret near: %q", name, s[max(0, i-80):i])
			}
		}
	}
	if !strings.Contains(out.String(), "static keys") || !strings.Contains(logs.String(), "<redacted>") {
		t.Fatal("the capture saw nothing: the test would pass without checking")
	}
}
