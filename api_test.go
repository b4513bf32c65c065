package conncat_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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
