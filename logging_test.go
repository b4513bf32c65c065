package conncat_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/internal/testenv"
)

// syncBuffer is safe for the logger's goroutines.
type syncBuffer = testenv.SyncBuffer

// events decodes JSON log lines.
func logEvents(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func findEvent(events []map[string]any, msg string) map[string]any {
	for _, e := range events {
		if e["msg"] == msg {
			return e
		}
	}
	return nil
}

// TestLoggerEvents: WithLogger receives DDL (redacted), invalidations,
// credentials obtained (with expiry), VALIDATE per check and key
// rotation, with stable attribute names, and never a secret; without it
// nothing is written anywhere.
func TestLoggerEvents(t *testing.T) {
	const secret = "fake-secret-for-the-log-test-77"
	var logs syncBuffer
	fake := awstest.NewSTS()
	defer fake.Close()
	key, sec := fake.AddUser(engineUser)
	cat := openTest(t, conncat.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, sec)))
	ctx := context.Background()
	mustExec(t, cat, `CREATE SECRET sk AS '`+secret+`';
		CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`)
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cat, "r")); err != nil {
		t.Fatal(err)
	}
	cfg, err := cat.AWSConfig(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	mustExec(t, cat, `ALTER SECRET sk AS '`+secret+`-2'; ALTER CONNECTION r SET (REGION = 'eu-west-1')`)
	_, _ = cat.Exec(ctx, `VALIDATE CONNECTION r`)
	_, _ = cat.Exec(ctx, `DROP CONNECTION nosuch`)
	if err := cat.RotateKey(ctx, conncat.StaticKey([]byte("conncat-test-key-rotated-0123456"))); err != nil {
		t.Fatal(err)
	}
	events := logEvents(t, logs.String())
	applied := findEvent(events, "statement applied")
	if applied == nil || !strings.Contains(applied["statement"].(string), "CREATE SECRET sk AS '<redacted>'") {
		t.Errorf("statement applied: %v", applied)
	}
	if e := findEvent(events, "credentials obtained"); e == nil || e["connection"] != "r" || e["connection_id"] == nil || e["expires_at"] == nil {
		t.Errorf("credentials obtained: %v", e)
	}
	if e := findEvent(events, "cached credentials dropped"); e == nil || e["source"] != "statement" {
		t.Errorf("invalidation: %v", e)
	}
	if e := findEvent(events, "validation check finished"); e == nil || e["check"] != "credentials" || e["status"] != "PASS" {
		t.Errorf("validation: %v", e)
	}
	// A user's mistake is logged at DEBUG with its SQLSTATE, redacted.
	if e := findEvent(events, "statement failed"); e == nil || e["level"] != "DEBUG" || e["sqlstate"] != "42704" || e["statement"] != "DROP CONNECTION nosuch" {
		t.Errorf("failed statement: %v", e)
	}
	if findEvent(events, "sealing key rotated") == nil {
		t.Error("no key rotation event")
	}
	for _, e := range events {
		if level := e["level"]; level == "WARN" || level == "ERROR" {
			t.Errorf("a healthy session logged %v: %v", level, e)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("a log line holds the secret")
	}
}
