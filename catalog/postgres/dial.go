package postgres

import (
	"database/sql"
	"errors"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsURL reports whether target names a PostgreSQL database
// (postgres:// or postgresql://), which this store serves.
func IsURL(target string) bool {
	lower := strings.ToLower(target)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// IsHandle reports whether db is a handle of pgx's database/sql driver,
// which this store serves.
func IsHandle(db *sql.DB) bool {
	_, ok := db.Driver().(*stdlib.Driver)
	return ok
}

// Dial opens a pool of at most maxConns connections to the database url
// names, reading no message over MaxMessageBytes: PostgreSQL has no cap on
// a value a query computes, and without one pgx would read a 200 MB row
// whole before any budget could refuse it.
func Dial(url string, maxConns int) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx redacts passwords only on a best-effort basis, and its error
		// keeps the whole URL in a field: none of it may reach a log.
		return nil, errors.New("conncat: the catalog URL does not parse as a PostgreSQL connection string " +
			"(postgres://user@host:port/database?param=value)")
	}
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		f := pgproto3.NewFrontend(r, w)
		f.SetMaxBodyLen(MaxMessageBytes)
		return f
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return db, nil
}
