package conncat_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/conncat/conncat"
)

type notSQLite struct{}

func (notSQLite) Open(string) (driver.Conn, error) { return nil, errors.New("not a database") }

func init() { sql.Register("conncat-test-not-sqlite", notSQLite{}) }

// TestOpenDBChecksItsDriver: a handle of another driver is refused up
// front, by name, before any statement is sent to it.
func TestOpenDBChecksItsDriver(t *testing.T) {
	db, err := sql.Open("conncat-test-not-sqlite", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = conncat.OpenDB(context.Background(), db, conncat.WithKeyProvider(conncat.StaticKey([]byte("conncat-test-key-0123456789abcde"))))
	if err == nil || !strings.Contains(err.Error(), "go-sqlite3") || strings.Contains(err.Error(), "not a database") {
		t.Fatalf("OpenDB on another driver: %v", err)
	}
}

// TestCaretHidesSecrets: the root's Caret draws where a statement failed
// with its literals redacted, for any error an engine holds (wrapped or
// not), and draws nothing for an error that is not conncat's.
func TestCaretHidesSecrets(t *testing.T) {
	c := openTest(t)
	script := "CREATE SECRET s AS 'fake-secret-value' EXTRA"
	_, err := c.Exec(context.Background(), script)
	if err == nil {
		t.Fatal("a statement with trailing words ran")
	}
	caret := conncat.Caret(fmt.Errorf("engine: %w", err), script)
	if caret == "" || strings.Contains(caret, "fake-secret-value") || !strings.HasSuffix(caret, "^") {
		t.Errorf("caret %q: want the line with the value redacted and a caret", caret)
	}
	pieces := conncat.Split(script)
	if got := conncat.CaretIn(err, script, pieces[0]); got != caret {
		t.Errorf("CaretIn %q, Caret %q", got, caret)
	}
	if got := conncat.Caret(errors.New("not conncat's"), script); got != "" {
		t.Errorf("an error of another kind drew %q", got)
	}
}
