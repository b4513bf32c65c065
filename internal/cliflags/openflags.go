// Package cliflags holds the command-line flags the examples share: the
// REPL and the wire server open a catalog the same way.
package cliflags

import (
	"flag"
	"os"
	"strings"
	"time"

	"github.com/conncat/conncat"
)

// Catalog is where a catalog lives and how it is opened.
type OpenFlags struct {
	DB, Schema, Principal, Prefix, KeyFile string
	AllowHTTP                              bool
	// StaleReads: PostgreSQL reads answer from the node's replica
	// without asking for the latest change (WithStaleReads).
	StaleReads       bool
	StatementTimeout time.Duration
	// Result budgets: per statement, and for the whole process.
	MaxResultBytes, MaxProcessResultBytes int64
	// MaxConnections bounds a PostgreSQL catalog's pool (0: the default).
	MaxConnections int
	// Superusers are the roles that may do anything, comma-separated.
	Superusers string
}

// Register defines the catalog flags on fs, each with the environment
// variable that stands for it.
func (c *OpenFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", EnvOr("CONNCAT_DB", "conncat.db"), "catalog: a SQLite file, or a postgres:// URL shared by many nodes (CONNCAT_DB)")
	fs.StringVar(&c.Schema, "schema", os.Getenv("CONNCAT_SCHEMA"), "PostgreSQL schema of the catalog's tables; default conncat (CONNCAT_SCHEMA)")
	fs.StringVar(&c.Principal, "principal", os.Getenv("CONNCAT_PRINCIPAL_ARN"), "ARN of the role or user customers trust (CONNCAT_PRINCIPAL_ARN)")
	fs.StringVar(&c.Prefix, "external-id-prefix", os.Getenv("CONNCAT_EXTERNAL_ID_PREFIX"), "prefix of generated external IDs (CONNCAT_EXTERNAL_ID_PREFIX)")
	fs.StringVar(&c.KeyFile, "key-file", os.Getenv("CONNCAT_KEY_FILE"), "file holding the secret-sealing key; default <db>.key for SQLite, required for PostgreSQL (CONNCAT_KEY_FILE)")
	fs.BoolVar(&c.StaleReads, "stale-reads", os.Getenv("CONNCAT_STALE_READS") == "1", "PostgreSQL: SELECT, SHOW and Describe answer from this node's replica without a round trip, also during an outage, possibly missing another node's latest DDL (CONNCAT_STALE_READS=1)")
	fs.BoolVar(&c.AllowHTTP, "allow-http-endpoints", os.Getenv("CONNCAT_ALLOW_HTTP_ENDPOINTS") == "1", "accept http:// endpoints on non-loopback hosts (CONNCAT_ALLOW_HTTP_ENDPOINTS=1)")
	fs.DurationVar(&c.StatementTimeout, "statement-timeout", conncat.DefaultStatementTimeout, "cancel a statement still running after this long (57014); 0 for no limit")
	fs.Int64Var(&c.MaxResultBytes, "max-result-bytes", conncat.DefaultMaxResultBytes, "the most one SELECT may return, in bytes of its values (54000 past it); -1 for no limit")
	fs.Int64Var(&c.MaxProcessResultBytes, "max-process-result-bytes", conncat.DefaultMaxProcessResultBytes, "the most result bytes all running SELECTs hold at once (53200 past it); -1 for no limit")
	fs.StringVar(&c.Superusers, "superusers", os.Getenv("CONNCAT_SUPERUSERS"), "comma-separated roles that may do anything (CONNCAT_SUPERUSERS)")
	fs.IntVar(&c.MaxConnections, "max-catalog-connections", conncat.DefaultMaxConnections, "PostgreSQL: the most connections to the catalog's database (at least 3)")
}

// Options are Open's options for the flags given.
func (c *OpenFlags) Options() []conncat.Option {
	// The process's budget is the process's: the flags set it once here.
	conncat.SetMaxProcessResultBytes(c.MaxProcessResultBytes)
	opts := []conncat.Option{conncat.WithStatementTimeout(c.StatementTimeout), conncat.WithMaxResultBytes(c.MaxResultBytes),
		conncat.WithMaxConnections(c.MaxConnections)}
	if c.Principal != "" {
		opts = append(opts, conncat.WithPrincipal(c.Principal))
	}
	if c.Prefix != "" {
		opts = append(opts, conncat.WithExternalIDPrefix(c.Prefix))
	}
	if c.KeyFile != "" {
		opts = append(opts, conncat.WithKeyFile(c.KeyFile))
	}
	if c.Schema != "" {
		opts = append(opts, conncat.WithSchema(c.Schema))
	}
	if c.AllowHTTP {
		opts = append(opts, conncat.WithPlainHTTPEndpoints())
	}
	if c.StaleReads {
		opts = append(opts, conncat.WithStaleReads())
	}
	if c.Superusers != "" {
		opts = append(opts, conncat.WithSuperusers(strings.Split(c.Superusers, ",")...))
	}
	return opts
}

// EnvOr is the environment variable's value, or def when it is unset.
func EnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
