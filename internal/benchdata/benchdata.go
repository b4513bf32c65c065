// Package benchdata builds the large catalogs benchmarks run against.
// Filling a catalog with 100,000 connections through CREATE CONNECTION
// takes seconds, so each size is built once per process and every
// benchmark gets its own copy of the file.
package benchdata

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/sqlparse"
)

// Key seals the benchmark catalogs' secrets; obviously not a real key.
var Key = catalog.StaticKey([]byte("conncat-bench-key-0123456789abcd"))

// Principal is the catalogs' principal.
const Principal = "arn:aws:iam::000000000000:role/conncat"

// Name is the name of the i-th seeded connection.
func Name(i int) string { return fmt.Sprintf("seed_%d", i) }

var (
	mu    sync.Mutex
	dir   string
	built = map[int]string{}
)

// Catalog returns the path of a fresh copy of a catalog file holding n role
// connections (Name(0) … Name(n-1)), made with Key and Principal. The copy
// is removed when tb ends.
func Catalog(tb testing.TB, n int) string {
	tb.Helper()
	src, err := master(n)
	if err != nil {
		tb.Fatal(err)
	}
	dst := filepath.Join(tb.TempDir(), "catalog.db")
	if err := copyFile(src, dst); err != nil {
		tb.Fatal(err)
	}
	return dst
}

func master(n int) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[n]; ok {
		return p, nil
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "conncat-benchdata")
		if err != nil {
			return "", err
		}
		dir = d
	}
	path := filepath.Join(dir, fmt.Sprintf("catalog-%d.db", n))
	db, err := sql.Open("sqlite3", sqlite.DSN(path))
	if err != nil {
		return "", err
	}
	if err := fill(db, n); err != nil {
		db.Close()
		return "", err
	}
	if err := db.Close(); err != nil {
		return "", err
	}
	built[n] = path
	return path, nil
}

// fill creates n role connections through the catalog itself, then folds
// the WAL into the main file so that one file is the whole catalog.
func fill(db *sql.DB, n int) error {
	ctx := context.Background()
	st, err := sqlite.New(db)
	if err != nil {
		return err
	}
	c, err := catalog.Open(ctx, st, catalog.Options{Keys: Key, Principal: Principal})
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		stmt, err := sqlparse.ParseOne(fmt.Sprintf("CREATE CONNECTION %s TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R%d')", Name(i), i))
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Cleanup removes the master copies; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
	}
	dir, built = "", map[int]string{}
}
