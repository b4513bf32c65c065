package catalog_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/conncat/conncat/catalog"
)

// RotateKey re-seals every value under the new key in one transaction;
// afterwards only the new key opens the catalog, and a failed rotation
// changes nothing.
func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	c, path := newCatalog(t, catalog.Options{})
	mustExec(t, c, `CREATE SECRET sk AS '`+fakeSecretKey+`'`)
	mustExec(t, c, `CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = 'FwoGZXIvYXdzEXAMPLETOKEN')`)

	// A key of the wrong size is refused before anything is touched.
	if err := c.RotateKey(ctx, catalog.StaticKey([]byte("short"))); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("short key: %v", err)
	}
	newKey := catalog.StaticKey([]byte("conncat-test-key-rotated-0123456"))
	if err := c.RotateKey(ctx, newKey); err != nil {
		t.Fatal(err)
	}
	r, err := c.Resolve(ctx, "k")
	if err != nil || r.AWS.SecretAccessKey != fakeSecretKey || r.AWS.SessionToken != "FwoGZXIvYXdzEXAMPLETOKEN" {
		t.Fatalf("after rotation the running catalog reads %v", err)
	}
	// The file now opens only with the new key.
	if _, err := catalog.Open(ctx, storeOf(t, openDB(t, path)), catalog.Options{Keys: testKey}); !errors.Is(err, catalog.ErrKeyMismatch) {
		t.Fatalf("old key after rotation: %v", err)
	}
	reopenedDB := openDB(t, path)
	reopened, err := catalog.Open(ctx, storeOf(t, reopenedDB), catalog.Options{Keys: newKey})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := reopened.Resolve(ctx, "k"); err != nil || r.AWS.SecretAccessKey != fakeSecretKey {
		t.Fatalf("reopened with the new key: %v", err)
	}

	// A value that does not open (here: sealed under another key) stops
	// the rotation and leaves every value as it was.
	if _, err := reopenedDB.Exec(`UPDATE conncat_secret_values SET ciphertext = x'00' || ciphertext WHERE id = (SELECT id FROM mz_secrets WHERE name = 'sk')`); err != nil {
		t.Fatal(err)
	}
	before := sealedValues(t, reopenedDB)
	err = reopened.RotateKey(ctx, catalog.StaticKey([]byte("conncat-test-key-third-012345678")))
	if !errors.Is(err, catalog.ErrKeyMismatch) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("corrupt value: %v", err)
	}
	if after := sealedValues(t, reopenedDB); after != before {
		t.Fatal("a failed rotation changed sealed values")
	}
}

func sealedValues(t *testing.T, db *sql.DB) string {
	t.Helper()
	var s string
	if err := db.QueryRow(`SELECT group_concat(id || hex(nonce) || hex(ciphertext), ',') FROM (SELECT * FROM conncat_secret_values ORDER BY id)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
