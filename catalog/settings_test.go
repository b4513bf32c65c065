package catalog_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/internal/storetest"
	"github.com/conncat/conncat/sqlerror"
)

// TestKeysAreNamedAndNeverMadeUp: a key that does not open the catalog is
// refused naming both keys by ID (never the key); a key file missing for a
// catalog that has a key is not created (a new key would open nothing).
func TestKeysAreNamedAndNeverMadeUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cat.db")
	first := catalog.FileKey{Path: filepath.Join(dir, "first.key")}
	open := func(keys catalog.KeyProvider) error {
		c, err := catalog.Open(context.Background(), storeOf(t, openDB(t, path)), catalog.Options{Keys: keys, Now: fixedClock})
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := open(first); err != nil {
		t.Fatal(err)
	}
	key, _ := first.Key(context.Background())
	other := catalog.StaticKey([]byte("another-key-of-32-bytes-for-test"))
	err := open(other)
	var e *sqlerror.Error
	if !errors.As(err, &e) || e.Code != sqlstate.PrerequisiteState || !errors.Is(err, catalog.ErrKeyMismatch) ||
		!strings.Contains(e.Message, catalog.KeyID(other)) || !strings.Contains(e.Message, catalog.KeyID(key)) {
		t.Fatalf("another key: %v", err)
	}
	if strings.Contains(err.Error()+e.Hint, string(other)) {
		t.Fatal("the error shows the key")
	}
	typo := filepath.Join(dir, "frist.key")
	err = open(catalog.FileKey{Path: typo})
	if !errors.As(err, &e) || !strings.Contains(e.Message, typo) || !strings.Contains(e.Message, catalog.KeyID(key)) {
		t.Fatalf("a missing key file for a sealed catalog: %v", err)
	}
	if _, statErr := os.Stat(typo); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatal("a key file was created for a catalog that has a key")
	}
}

// TestPrincipalIsTheCatalogs: the first node's principal is the catalog's;
// a node opened without one uses it (and writes the same trust policies),
// a node given another is refused, on every store.
func TestPrincipalIsTheCatalogs(t *testing.T) { forEachBackend(t, testPrincipalIsTheCatalogs) }

func testPrincipalIsTheCatalogs(t *testing.T, backend string) {
	reopen := reopenable(t, backend)
	withP, err := reopen(blockPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	without, err := reopen("")
	if err != nil {
		t.Fatal(err)
	}
	if without.Principal() != blockPrincipal {
		t.Fatalf("a node without a principal uses %q", without.Principal())
	}
	mustExec(t, without, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+roleARN+`')`)
	if res := mustExec(t, withP, `SHOW TRUST POLICY FOR CONNECTION r`); res[0].Rows[0][0] != blockPrincipal {
		t.Fatalf("trust policy's principal: %v", res[0].Rows[0][0])
	}
	_, err = reopen("arn:aws:iam::000000000000:role/other")
	var e *sqlerror.Error
	if !errors.As(err, &e) || e.Code != sqlstate.PrerequisiteState || !strings.Contains(e.Message, blockPrincipal) {
		t.Fatalf("another principal: %v", err)
	}
}

// reopenable opens a catalog without a principal and returns a function
// that opens the same catalog again, as another node would.
func reopenable(t *testing.T, backend string) func(principal string) (*catalog.Executor, error) {
	place := storetest.NewPlace(t, backend)
	openPlace(t, place, catalog.Options{})
	return func(principal string) (*catalog.Executor, error) {
		n, err := catalog.Open(context.Background(), place.Store(t), catalog.Options{Keys: testKey, Now: fixedClock, Principal: principal})
		if err == nil {
			t.Cleanup(func() { n.Close() })
		}
		return n, err
	}
}
