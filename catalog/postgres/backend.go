package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/conncat/conncat/catalog"
)

// DefaultMaxConnections is how many connections a handle Open makes on a
// PostgreSQL catalog holds, unless the engine says otherwise.
const DefaultMaxConnections = 10

func init() {
	catalog.RegisterBackend(catalog.Backend{
		Name:          "postgres",
		Serves:        IsURL,
		ServesHandle:  IsHandle,
		Open:          openBackend,
		ClassifyError: classifyDriverError,
		New: func(db *sql.DB, cfg catalog.BackendConfig) (catalog.Store, error) {
			s, err := New(db, cfg.Schema)
			if err == nil {
				s.StaleReads = cfg.StaleReads
			}
			return s, err
		},
	})
}

// openBackend opens the database url names. The sealing key must be
// given: it never enters the database, so no node could find it there.
func openBackend(_ context.Context, url string, cfg catalog.BackendConfig) (*catalog.Opened, error) {
	if !cfg.KeyGiven {
		return nil, errors.New("conncat: a catalog in PostgreSQL needs its sealing key: give WithKeyFile or WithKeyProvider " +
			"(the REPL's and the server's -key-file; the key never enters the database, so every node must be given the same one: " +
			"the first node creates the file, copy it to the others)")
	}
	maxConns := cfg.MaxConns
	if maxConns == 0 {
		maxConns = DefaultMaxConnections
	}
	if maxConns < 3 {
		return nil, fmt.Errorf("conncat: WithMaxConnections(%d): a PostgreSQL catalog needs at least 3 connections (the change feed, a SELECT, a DDL)", maxConns)
	}
	db, err := Dial(url, maxConns)
	if err != nil {
		return nil, err
	}
	store, err := New(db, cfg.Schema)
	if err != nil {
		db.Close()
		return nil, err
	}
	store.StaleReads = cfg.StaleReads
	// The change feed holds a connection and a DDL needs one: the rest
	// may run SELECTs at once.
	return &catalog.Opened{DB: db, Store: store, Name: store.Schema(), MaxConcurrentQueries: maxConns - 2}, nil
}
