package conncat_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/catalog"
)

// TestOpenChoosesARegisteredBackend: Open hands a target to the store that
// registered for it, with the options' configuration, and keeps the
// store's defaults (the key file beside a SQLite file): a new store is a
// package that registers, with no edit of Open. This one serves
// "conncat-test://PATH" by handing PATH to the SQLite store.
func TestOpenChoosesARegisteredBackend(t *testing.T) {
	var opened atomic.Int32
	catalog.RegisterBackend(catalog.Backend{
		Name:   "conncat-test",
		Serves: func(target string) bool { return strings.HasPrefix(target, "conncat-test://") },
		Open: func(ctx context.Context, target string, cfg catalog.BackendConfig) (*catalog.Opened, error) {
			opened.Add(1)
			path := strings.TrimPrefix(target, "conncat-test://")
			sqlite, _ := catalog.BackendFor(path)
			return sqlite.Open(ctx, path, cfg)
		},
	})
	path := filepath.Join(t.TempDir(), "viatest.db")
	cat, err := conncat.Open(context.Background(), "conncat-test://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	mustExec(t, cat, `CREATE SECRET s AS 'fake-secret-backend'`)
	if opened.Load() != 1 {
		t.Fatalf("the registered backend opened %d times", opened.Load())
	}
	if _, err := os.Stat(path + ".key"); err != nil {
		t.Fatalf("the store's default key file: %v", err)
	}
	// A backend with no classifier of its own leaves errors to the others.
	if _, err := conncat.Open(context.Background(), filepath.Join(t.TempDir(), "missing", "x.db")); err == nil {
		t.Fatal("a file in a missing directory opened")
	}
}

// TestRegisterBackendRefusesWhatCannotWork: a registration missing what
// Open needs panics at init, as sql.Register does, instead of later.
func TestRegisterBackendRefusesWhatCannotWork(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a backend without Open was registered")
		}
	}()
	catalog.RegisterBackend(catalog.Backend{Name: "broken", Serves: func(string) bool { return false }})
}

// TestOpenDBRefusesAnUnknownDriver: a handle of a driver no store serves is
// refused, naming the drivers that are.
func TestOpenDBRefusesAnUnknownDriver(t *testing.T) {
	sql.Register("conncat-test-nodriver", noDriver{})
	db, err := sql.Open("conncat-test-nodriver", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = conncat.OpenDB(context.Background(), db, conncat.WithKeyFile(filepath.Join(t.TempDir(), "k")))
	if err == nil || !strings.Contains(err.Error(), "go-sqlite3") || !strings.Contains(err.Error(), "pgx") {
		t.Fatalf("a handle no store serves: %v", err)
	}
}

type noDriver struct{}

func (noDriver) Open(string) (driver.Conn, error) { return nil, errors.New("no connection") }
