// Package conncat gives a database engine first-class AWS connections: a SQL
// dialect to declare secrets and connections, a catalog that persists them
// in SQLite and answers SELECT over Materialize-compatible tables, and
// generated external IDs with the trust policy a customer pastes.
//
//	cat, err := conncat.Open(ctx, "conncat.db",
//		conncat.WithPrincipal("arn:aws:iam::000000000000:role/conncat"))
//	...
//	results, err := cat.Exec(ctx, `CREATE CONNECTION aws_conn TO AWS (
//		ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/MaterializeConn')`)
package conncat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/otel/metric"

	// The stores Open and OpenDB choose from register themselves.

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/postgres"
	_ "github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/dataplane"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// Error is the error type of every call: Code (a PostgreSQL SQLSTATE),
// Message, Detail, Hint, Position (byte offset in the script, or -1), Line
// and Column, and Err (the cause, for errors.Is and errors.As). Use
// errors.As to get it; Caret(err, script) draws the position with possible
// secrets hidden. The type lives in package sqlerror, which depends on
// nothing else of conncat's.
type Error = sqlerror.Error

// Caret renders the line of script an error points at, with a caret under
// the offending byte and every string literal that may hold a secret
// redacted (so it is safe to show and log even when the statement did not
// parse); "" for an error without a position or not an *Error.
func Caret(err error, script string) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	return sqlparse.Caret(e, script)
}

// CaretIn is Caret for an error raised on piece p of script (ExecPiece):
// it reads only the piece and the rest of its last line, so reporting an
// error for every statement of a long script stays linear in its length.
func CaretIn(err error, script string, p Piece) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	return sqlparse.CaretIn(e, script, p)
}

// Result is what one statement returns: Tag (the command tag, "SELECT 3"),
// Columns and Rows (values are string, int64, float64, []byte or nil),
// Notices, and Changed (IDs of connections the statement changed).
//
// Columns by statement: SHOW CONNECTIONS name, type; SHOW SECRETS name;
// SHOW CREATE CONNECTION name, create_sql; SHOW TRUST POLICY principal,
// external_id, trust_policy; SHOW PERMISSION POLICY permission_policy;
// VALIDATE CONNECTION check, status, message, hint, duration_ms (a row per
// check); SELECT its own; CREATE, ALTER and DROP none.
type Result = catalog.Result

// KeyProvider supplies the key that seals secrets at rest: Key(ctx)
// returns 32 bytes. FileKey and StaticKey are the two conncat brings.
type KeyProvider = catalog.KeyProvider

// FileKey keeps the key in a private file (mode 0600), created on first use.
type FileKey = catalog.FileKey

// StaticKey is a key held in memory (tests, or a key the engine fetched
// from its own KMS). It prints as its length only.
type StaticKey = catalog.StaticKey

// ErrKeyMismatch is the cause (errors.Is) when the key does not open the
// catalog: a wrong key file at Open, or a key RotateKey retired.
var ErrKeyMismatch = catalog.ErrKeyMismatch

// Resolved is a connection WITH ITS SECRETS OPENED, as Resolve returns
// it: ID, Name, Type, AWS (the Spec to obtain credentials) and, for an S3
// connection, S3 (bucket and prefix).
type Resolved = catalog.Resolved

// Spec is everything needed to obtain one connection's credentials,
// secrets included. Its String and every fmt verb hide the secret fields.
type Spec = connection.Spec

// S3URL is an S3 connection's bucket and prefix.
type S3URL = connection.S3URL

// CacheOptions tunes the credential cache (WithCredentialCache): how long
// before expiry a refresh starts, its jitter, the wait before retrying a
// failed refresh and the time one refresh may take. The zero value is the
// defaults.
type CacheOptions = awscreds.CacheOptions

// Statement is a parsed statement (see ExecStatement); Piece is one
// statement of a script as Split cuts it (see ExecPiece).
type (
	Statement = sqlparse.Statement
	Piece     = sqlparse.Piece
)

// Catalog is an open conncat catalog. It is safe for concurrent use.
type Catalog struct {
	cat    *catalog.Executor
	events events
	meters *meters
	// stopWatch ends the goroutine that applies other handles' changes;
	// watchDone closes when it has.
	stopWatch        context.CancelFunc
	watchDone        chan struct{}
	db               *sql.DB
	owns             bool
	plane            *dataplane.Plane
	statementTimeout time.Duration
	closed           atomic.Bool
}

type options struct {
	catalog.Options
	logger        *slog.Logger
	meterProvider metric.MeterProvider
	schema        string
	keyFile       string
	name          string
	timeout       time.Duration
	timeoutSet    bool
	awsConfig     *aws.Config
	cacheOpts     awscreds.CacheOptions
	publicOnly    bool
	maxConns      int
	staleReads    bool
	useAudit      bool
	useRetention  time.Duration
}

// Option configures Open and OpenDB.
type Option func(*options)

// WithPrincipal sets the ARN of the IAM role or user that customers' trust
// policies name (see DESIGN §3).
func WithPrincipal(arn string) Option { return func(o *options) { o.Principal = arn } }

// WithRole returns ctx carrying the engine's role that runs the statements
// and data-plane calls made with it: it owns what it creates, and reaches
// others' connections and secrets only when granted USAGE (42501
// otherwise). A call whose context carries no role acts as a superuser,
// as every call did before roles, so an engine that names none keeps
// working unchanged.
//
//	ctx = conncat.WithRole(ctx, user.Role)
//	_, err := cat.Exec(ctx, "SHOW CREATE CONNECTION exports") // 42501 unless granted
func WithRole(ctx context.Context, role string) context.Context { return catalog.WithRole(ctx, role) }

// RoleFrom is the role ctx carries (WithRole), and whether it carries one.
func RoleFrom(ctx context.Context) (string, bool) { return catalog.RoleFrom(ctx) }

// WithSuperusers names the engine's roles that may do anything: ALTER,
// DROP, GRANT and use every connection and secret whoever owns it.
func WithSuperusers(roles ...string) Option {
	return func(o *options) { o.Superusers = append(o.Superusers, roles...) }
}

// WithExternalIDPrefix sets a prefix for generated external IDs.
func WithExternalIDPrefix(p string) Option { return func(o *options) { o.ExternalIDPrefix = p } }

// WithKeyProvider sets where the secret-sealing key comes from. The
// default is a key file beside the database (<db>.key, mode 0600).
func WithKeyProvider(k KeyProvider) Option { return func(o *options) { o.Keys = k } }

// WithKeyFile keeps the key in the given file instead of <db>.key.
func WithKeyFile(path string) Option { return func(o *options) { o.keyFile = path } }

// WithPlainHTTPEndpoints accepts http:// endpoints for non-loopback hosts
// (test setups with an S3-compatible store on another machine).
func WithPlainHTTPEndpoints() Option {
	return func(o *options) { o.Endpoints.AllowHTTP = true }
}

// WithName names the catalog in default AssumeRole session names
// (conncat-<name>-<connection id>), which the customer sees in CloudTrail.
// Open defaults it to the database file's base name.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithAWSConfig sets the engine's own AWS configuration: the ambient
// credentials that assume customers' roles, and the HTTP client, retryer
// and endpoint settings every connection's config starts from. Without
// it, the SDK's default chain is loaded on first use.
func WithAWSConfig(cfg aws.Config) Option { return func(o *options) { o.awsConfig = &cfg } }

// WithCredentialCache tunes how connections' credentials are cached and
// refreshed (see CacheOptions).
func WithCredentialCache(opts CacheOptions) Option {
	return func(o *options) { o.cacheOpts = opts }
}

// WithPublicAddressesOnly makes every connection refuse to reach loopback,
// private and link-local addresses, checked on the address dialled after
// DNS resolution. Multi-tenant engines want it: a tenant's ENDPOINT must
// not reach the engine's own network or the instance metadata service.
// It replaces the HTTP client of the engine's AWS configuration. CREATE and
// ALTER CONNECTION also refuse, with 22023, an ENDPOINT or STS ENDPOINT
// that is localhost or a non-public IP literal.
func WithPublicAddressesOnly() Option {
	return func(o *options) { o.publicOnly, o.Endpoints.PublicOnly = true, true }
}

// DefaultStatementTimeout is how long a statement may run unless
// WithStatementTimeout says otherwise: long enough for any VALIDATE, short
// enough that a runaway query cannot hold a connection and a core for long.
const DefaultStatementTimeout = time.Minute

// WithStatementTimeout bounds every statement (PostgreSQL's
// statement_timeout): one still running after d is cancelled with 57014
// "canceling statement due to statement timeout". 0 or less turns the
// bound off; the default is DefaultStatementTimeout. A caller's context
// that ends sooner still wins.
func WithStatementTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d; o.timeoutSet = true }
}

// WithClock sets the clock used for timestamps (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.Now = now } }

// DefaultMaxResultBytes is the most one SELECT may return (the bytes of
// its values) unless WithMaxResultBytes says otherwise.
const DefaultMaxResultBytes = catalog.DefaultMaxResultBytes

// WithMaxResultBytes bounds what one SELECT returns, counted while its
// rows are read: past it the statement fails with 54000 naming the
// budget. 0 keeps DefaultMaxResultBytes; less than 0 removes the bound.
func WithMaxResultBytes(n int64) Option { return func(o *options) { o.MaxResultBytes = n } }

// DefaultMaxProcessResultBytes is the most result bytes all running
// SELECTs of the process (every handle) hold at once, unless
// SetMaxProcessResultBytes says otherwise.
const DefaultMaxProcessResultBytes = 128 << 20

// processResults is the process's result budget, shared by every handle.
var processResults = catalog.NewResultBudget(DefaultMaxProcessResultBytes)

// SetMaxProcessResultBytes sets the process's result budget: a SELECT that
// would take the result bytes all running SELECTs hold past n fails with
// 53200 instead of growing the heap. 0 or less removes the bound. It
// applies to every handle in the process, open or opened later.
func SetMaxProcessResultBytes(n int64) { processResults.SetLimit(n) }

// defaultMaxConcurrentQueries is how many SELECTs of one handle read the
// catalog at once on SQLite unless WithMaxConcurrentQueries says otherwise:
// one a core (at least 2). SQLite's queries are CPU-bound, so more only
// share the same cores, while each holds its working memory and the
// copies of its rows (tens of MB for a query that builds large values).
func defaultMaxConcurrentQueries() int { return max(2, runtime.GOMAXPROCS(0)) }

// WithMaxConcurrentQueries bounds the SELECTs of the handle that read the
// catalog at once (default: one a core, at least 2, on SQLite;
// WithMaxConnections-2 on PostgreSQL); the others wait their turn within
// their statement budget, so a few long queries delay the others' SELECTs
// (never DDL) up to the statement timeout.
func WithMaxConcurrentQueries(n int) Option { return func(o *options) { o.MaxConcurrentQueries = n } }

// MaxPostgresMessageBytes bounds one message from a PostgreSQL catalog
// (a result row, with all its values): a larger one is refused with 54000
// before it is read, and its connection dropped. Twice SQLite's 8 MiB
// value cap: no catalog row comes near it.
const MaxPostgresMessageBytes = postgres.MaxMessageBytes

// DefaultMaxConnections is how many connections a handle Open made on a
// PostgreSQL catalog opens at most, unless WithMaxConnections says
// otherwise.
const DefaultMaxConnections = postgres.DefaultMaxConnections

// WithMaxConnections bounds the PostgreSQL connections the handle Open
// makes (default DefaultMaxConnections, at least 3). The change feed holds
// one; SELECTs use at most n-2 at once and wait their turn beyond that
// (within their statement budget), so DDL, Resolve and the data plane
// always find a connection. Size it so that n times the nodes, plus every
// other client, stays under PostgreSQL's max_connections minus
// superuser_reserved_connections: a connection refused there is 53300.
// It does not apply to OpenDB, whose pool the engine sizes, nor to SQLite.
func WithMaxConnections(n int) Option { return func(o *options) { o.maxConns = n } }

// WithStaleReads lets SELECT, SHOW and Describe on a PostgreSQL catalog
// answer from this node's replica as the change feed keeps it, without
// first asking PostgreSQL for the latest change. A SELECT then costs no
// round trip and still answers while PostgreSQL is unreachable, but may
// miss DDL another node committed moments before (the feed's delay,
// milliseconds when healthy; unbounded while the feed is down). This
// handle's own DDL is always seen. Without it (the default) a SELECT sees
// every DDL committed, on any node, before it began, or fails with 08006.
// SQLite catalogs read their file and ignore it.
func WithStaleReads() Option { return func(o *options) { o.staleReads = true } }

// WithSchema names the PostgreSQL schema a catalog's tables live in
// (default "conncat"), so that one database can hold several catalogs:
// 1 to 48 lower-case letters, digits and underscores. SQLite catalogs have
// their own file instead and ignore it.
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// Open opens (creating if needed) a catalog: in PostgreSQL when target is
// a postgres:// or postgresql:// URL (pgx's connection string, with its
// parameters: sslmode, target_session_attrs, several hosts, ...), else in
// the SQLite file at target.
//
// A catalog in PostgreSQL is shared by every node that opens the same
// database and schema. Its sealing key must be given (WithKeyFile or
// WithKeyProvider): the key never enters the database, and Open refuses
// to guess one.
func Open(ctx context.Context, target string, opts ...Option) (*Catalog, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	backend, ok := catalog.BackendFor(target)
	if !ok {
		return nil, fmt.Errorf("conncat: no store serves %q", target)
	}
	opened, err := backend.Open(ctx, target, o.backendConfig())
	if err != nil {
		return nil, err
	}
	if o.name == "" {
		o.name = opened.Name
	}
	if o.Keys == nil {
		if o.Keys = keysFromFile(o.keyFile, opened.KeyFile); o.Keys == nil {
			opened.DB.Close()
			return nil, errors.New("conncat: give WithKeyFile or WithKeyProvider")
		}
	}
	if opened.MaxConcurrentQueries > 0 && (o.MaxConcurrentQueries == 0 || o.MaxConcurrentQueries > opened.MaxConcurrentQueries) {
		o.MaxConcurrentQueries = opened.MaxConcurrentQueries
	}
	cat, err := open(ctx, opened.DB, opened.Store, o)
	if err != nil {
		opened.DB.Close()
		return nil, coded(ctx, err, -1)
	}
	cat.owns = true
	if opened.Check != nil {
		if err := opened.Check(ctx); err != nil {
			cat.Close()
			return nil, err
		}
	}
	return cat, nil
}

// backendConfig is what the options ask of the store.
func (o options) backendConfig() catalog.BackendConfig {
	return catalog.BackendConfig{Schema: o.schema, StaleReads: o.staleReads, MaxConns: o.maxConns,
		KeyGiven: o.Keys != nil || o.keyFile != ""}
}

// keysFromFile is the key file the engine named, else the store's default
// place for one; nil when there is neither.
func keysFromFile(given, storeDefault string) catalog.KeyProvider {
	switch {
	case given != "":
		return catalog.FileKey{Path: given}
	case storeDefault != "":
		return catalog.FileKey{Path: storeDefault}
	}
	return nil
}

// IsPostgresURL reports whether Open reads target as a PostgreSQL URL.
func IsPostgresURL(target string) bool { return postgres.IsURL(target) }

// OpenDB uses a handle the engine already holds: go-sqlite3's, or pgx's
// database/sql driver (github.com/jackc/pgx/v5/stdlib) for a catalog in
// PostgreSQL (see WithSchema). The engine keeps ownership: Close does not
// close db. For SQLite writers in several processes, open db with
// _txlock=immediate and a busy timeout.
func OpenDB(ctx context.Context, db *sql.DB, opts ...Option) (*Catalog, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	backend, ok := catalog.BackendForHandle(db)
	if !ok {
		return nil, fmt.Errorf("conncat: OpenDB: no store serves a handle of %T: give one of go-sqlite3 (github.com/mattn/go-sqlite3) "+
			"for SQLite, or of pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib) for PostgreSQL", db.Driver())
	}
	store, err := backend.New(db, o.backendConfig())
	if err != nil {
		return nil, fmt.Errorf("conncat: OpenDB: %w", err)
	}
	if o.Keys == nil {
		if o.Keys = keysFromFile(o.keyFile, ""); o.Keys == nil {
			return nil, errors.New("conncat: OpenDB needs WithKeyProvider or WithKeyFile")
		}
	}
	return open(ctx, db, store, o)
}

func open(ctx context.Context, db *sql.DB, store catalog.Store, o options) (*Catalog, error) {
	ev := newEvents(o.logger)
	// The status table's rows come from the data plane, made once the
	// catalog it serves is open (before any query can ask).
	var plane *dataplane.Plane
	o.Options.Statuses = func() []catalog.ConnectionStatus {
		if plane == nil {
			return nil // asked before the plane exists: nothing is cached yet
		}
		return plane.Statuses()
	}
	o.Options.Results = processResults
	if o.MaxConcurrentQueries == 0 {
		o.MaxConcurrentQueries = defaultMaxConcurrentQueries()
	}
	cat, err := catalog.Open(ctx, store, o.Options)
	if err != nil {
		return nil, err
	}
	observer := &planeObserver{events: ev}
	plane = dataplane.New(dataplane.Config{Catalog: cat, Name: o.name, Cache: o.cacheOpts, PublicOnly: o.publicOnly,
		AWS: o.awsConfig, Observer: observer, Unreachable: catalogUnreachable, UseAudit: o.useAudit, UseRetention: o.useRetention})
	timeout := DefaultStatementTimeout
	if o.timeoutSet {
		timeout = o.timeout
	}
	ms, err := newMeters(o.meterProvider, plane)
	if err != nil {
		cat.Close()
		return nil, fmt.Errorf("conncat: metrics: %w", err)
	}
	observer.meters = ms // before any provider exists to report
	c := &Catalog{cat: cat, db: db, plane: plane, statementTimeout: timeout, watchDone: make(chan struct{}), events: ev, meters: ms}
	c.watch()
	return c, nil
}

// watch applies the changes other handles of the catalog make (other
// processes on a SQLite file, other nodes on PostgreSQL) to this one's
// credential caches, until Close.
//
// Reports are coalesced: those that arrive while a batch is being checked
// are merged (each ID once) into the next, so a flood of notifications,
// forged or not, costs one catalog read per named connection per batch,
// not one per notification.
func (c *Catalog) watch() {
	ctx, cancel := context.WithCancel(context.Background())
	c.stopWatch = cancel
	batch := newFeedBatch()
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		for ctx.Err() == nil {
			ids, all, ok := batch.next(ctx)
			if !ok {
				return
			}
			if all {
				c.events.setAside()
				c.plane.SuspectAll()
			}
			if len(ids) > 0 {
				c.events.invalidated(ids, "feed")
				c.plane.Recheck(ctx, ids)
			}
		}
	}()
	go func() {
		defer close(c.watchDone)
		c.cat.Watch(ctx, batch.add)
		<-handled
	}()
}

// Close closes the database if Open opened it. Every call on a closed
// catalog fails with 08003.
func (c *Catalog) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.stopWatch()
	c.plane.Close()
	<-c.watchDone
	_ = c.meters.registration.Unregister()
	err := c.cat.Close()
	if c.owns {
		if dbErr := c.db.Close(); err == nil {
			err = dbErr
		}
	}
	return err
}

// Exec runs a script statement by statement, as PostgreSQL runs a query
// string of several statements: as one transaction (an implicit block),
// so that either all of it applies or, at the first error, none of it. It
// stops at the first error and returns the results of the statements
// before it with the error. A script may hold BEGIN ... COMMIT blocks; one
// that ends inside a block rolls it back and fails with 25001 (a Session
// keeps a block open between calls).
//
// args are the values of a SELECT's parameters, $1, $2, ...: give them
// for a script of one SELECT, never build SQL by quoting values into it.
//
//	res, err := cat.Exec(ctx, `SELECT external_id FROM mz_aws_connections a
//		JOIN mz_connections c ON c.id = a.id WHERE c.name = $1`, name)
func (c *Catalog) Exec(ctx context.Context, script string, args ...any) ([]*Result, error) {
	s := c.NewSession()
	results, err := s.Exec(ctx, script, args...)
	if err == nil && s.InBlock() {
		s.Close()
		err = &Error{Code: CodeActiveTransaction, Position: -1,
			Message: "the script ends inside a transaction block, which was rolled back",
			Hint:    "End the block with COMMIT, or keep it open across calls with a Session (NewSession)."}
	}
	return results, err
}

// ExecStatement runs one parsed statement (see Parse), with the values of
// its parameters if it is a SELECT that has them. Transaction statements
// need a Session.
func (c *Catalog) ExecStatement(ctx context.Context, stmt Statement, args ...any) (*Result, error) {
	return c.execStatement(ctx, nil, stmt, args...)
}

// execStatement runs one statement, inside block when it is not nil.
func (c *Catalog) execStatement(ctx context.Context, block *catalog.Block, stmt Statement, args ...any) (res *Result, err error) {
	start := time.Now()
	defer func() {
		c.meters.statementDone(ctx, statementKind(stmt), time.Since(start), err)
		c.events.failed(ctx, stmt, err)
	}()
	ctx, cancel := c.statementContext(ctx)
	defer cancel()
	defer func() { err = coded(ctx, err, stmt.Pos()) }()
	defer recoverStatement(stmt.Pos(), &err)
	if c.closed.Load() {
		return nil, errDBClosed
	}
	if err := sqlparse.CheckArgs(stmt, len(args)); err != nil {
		return nil, err
	}
	switch s := stmt.(type) {
	case *sqlparse.ValidateConnection:
		return c.validateConnection(ctx, block, s)
	case *sqlparse.Transaction:
		return nil, &Error{Code: CodeFeatureNotSupported, Position: s.Pos(),
			Message: string(s.Kind) + " needs a session",
			Hint:    "Run transaction blocks through a Session (NewSession), or as one script with Exec."}
	}
	switch {
	case block != nil:
		return block.Exec(ctx, stmt, args...)
	case catalog.ValidatesFirst(stmt):
		res, err = c.cat.ExecValidated(ctx, stmt, c.validateBeforeCommit)
	default:
		res, err = c.cat.Exec(ctx, stmt, args...)
	}
	if err != nil {
		return nil, err
	}
	c.applied(stmt, res)
	return res, nil
}

// applied logs a statement that changed the catalog and drops the cached
// credentials of the connections it changed.
func (c *Catalog) applied(stmt Statement, res *Result) {
	if _, isQuery := stmt.(*sqlparse.Query); !isQuery && res.Tag != "SHOW" {
		c.events.applied(stmt, res)
	}
	c.events.invalidated(res.Changed, "statement")
	c.plane.Invalidate(res.Changed)
}

// statementKind is the verb a statement's metrics are recorded under.
func statementKind(stmt Statement) string {
	switch stmt.(type) {
	case *sqlparse.Query:
		return "SELECT"
	case *sqlparse.Show:
		return "SHOW"
	case *sqlparse.ValidateConnection:
		return "VALIDATE"
	case *sqlparse.CreateSecret, *sqlparse.CreateConnection:
		return "CREATE"
	case *sqlparse.AlterSecret, *sqlparse.AlterConnection:
		return "ALTER"
	case *sqlparse.Drop:
		return "DROP"
	}
	return "OTHER"
}

// Type is the type of a value a statement takes or returns, by
// PostgreSQL's name for it: TypeText, TypeInt8, TypeFloat8, TypeBytea or
// TypeJSON (text holding a JSON document).
type Type = sqlparse.Type

// The types of catalog values.
const (
	TypeText   = sqlparse.TypeText
	TypeInt8   = sqlparse.TypeInt8
	TypeFloat8 = sqlparse.TypeFloat8
	TypeBytea  = sqlparse.TypeBytea
	TypeJSON   = sqlparse.TypeJSON
)

// Column is a result column, Name and Type.
type Column = catalog.Column

// StatementDescription is what DescribeStatement returns: Params, the
// type each $n takes ($1 first), and Columns, nil for a statement that
// returns no rows.
type StatementDescription = catalog.StatementDescription

// DescribeStatement tells what a parsed statement takes and returns
// without running it, as a PostgreSQL server answers Describe: SHOW and
// VALIDATE have fixed columns; a SELECT is compiled and stopped before
// its first row, its columns typed by the catalog's declared types or,
// for expressions, by the query's tree (text where neither tells), and
// each parameter typed by what it stands beside (int8 beside an integer
// column, in LIMIT or in arithmetic; text otherwise).
func (c *Catalog) DescribeStatement(ctx context.Context, stmt Statement) (_ *StatementDescription, err error) {
	defer func() { err = coded(ctx, err, stmt.Pos()) }()
	defer recoverStatement(stmt.Pos(), &err)
	if c.closed.Load() {
		return nil, errDBClosed
	}
	ctx, cancel := c.statementContext(ctx)
	defer cancel()
	return c.cat.DescribeStatement(ctx, stmt)
}

// Description is what Describe returns: everything about a connection an
// engine shows its users, and no secret. Fields: ID, Name, Type ("aws" or
// "s3"); AWSConnection (the one holding the credentials), StaticKeys,
// AssumeRoleARN, SessionName, Duration, Principal, ExternalID, TrustPolicy
// (indented JSON to paste into the role), Region, Endpoint, STSEndpoint;
// for S3, Bucket, Prefix and PermissionPolicy (indented JSON).
type Description = catalog.Description

// Describe returns a connection's external ID, principal, trust policy
// (to paste into the customer's role), region and endpoints, and for an S3
// connection its bucket, prefix and permission policy. It opens no secret:
// use it, not Resolve, for anything shown to users.
func (c *Catalog) Describe(ctx context.Context, name string) (_ *Description, err error) {
	defer func() { err = coded(ctx, err, -1) }()
	if c.closed.Load() {
		return nil, errDBClosed
	}
	return c.cat.Describe(ctx, name)
}

// Resolve returns a connection WITH ITS SECRETS OPENED (static keys,
// session token), for code that calls AWS itself; the data plane's
// AWSConfig and S3Location use it. Never show or log what it returns
// beyond its description; Describe is the secret-free view.
func (c *Catalog) Resolve(ctx context.Context, name string) (_ *Resolved, err error) {
	defer func() { err = coded(ctx, err, -1) }()
	return c.resolve(ctx, name)
}

// ConnectionSpec is Resolve's AWS part, WITH ITS SECRETS OPENED, for
// callers that obtain credentials themselves. Never show or log it.
func (c *Catalog) ConnectionSpec(ctx context.Context, name string) (_ Spec, err error) {
	defer func() { err = coded(ctx, err, -1) }()
	r, err := c.resolve(ctx, name)
	if err != nil {
		return connection.Spec{}, err
	}
	return r.AWS, nil
}

// resolve is Resolve on a catalog that is still open.
func (c *Catalog) resolve(ctx context.Context, name string) (*catalog.Resolved, error) {
	if c.closed.Load() {
		return nil, errDBClosed
	}
	return c.cat.Resolve(ctx, name)
}

// Split cuts a script into statements without parsing them, so a caller
// can run each (ExecPiece) and report each. A piece's Text is the
// statement without its ';', Offset where it starts in the script.
func Split(script string) []Piece { return sqlparse.Split(script) }

// Parse parses a script into statements without running them, for an
// engine that prepares a statement once and runs it many times (with
// ExecStatement). Errors are *Error with a position in script.
func Parse(script string) ([]Statement, error) {
	stmts, err := sqlparse.Parse(script)
	if err != nil {
		return nil, err
	}
	return stmts, nil
}

// Params is the number of values a parsed statement takes: the highest n
// of a SELECT's $n, 0 for every other statement.
func Params(stmt Statement) int { return sqlparse.Params(stmt) }

// Redact returns a script as it may be logged or kept in a history: every
// value that may be a secret is replaced by '<redacted>', also in a
// statement that does not parse.
func Redact(script string) string { return sqlparse.RedactSource(script) }

// QuoteIdent renders a name so that the dialect reads it back as itself
// (bare when it can be, "double-quoted" otherwise), for building SHOW and
// DDL statements from names. Values go in SELECT's $n parameters instead.
func QuoteIdent(name string) string { return sqlparse.QuoteIdent(name) }

// OptionColumns are the mz_aws_connections columns that hold the options
// of an AWS connection, in the option table's order: each literal value's
// column and each named secret's ID column (SELECT shows no sealed value).
// A front end that describes a connection (the REPL's \d) reads these, so
// an option added to conncat shows there with no edit of its own.
func OptionColumns() []string {
	var cols []string
	for _, def := range connection.Options {
		if def.Scope != connection.ScopeAWS {
			continue
		}
		for _, col := range []string{def.Column, def.SecretColumn} {
			if col != "" {
				cols = append(cols, col)
			}
		}
	}
	return cols
}

// Keywords lists the dialect's keywords, upper case and sorted.
func Keywords() []string { return sqlparse.Keywords() }

// Tables lists the catalog tables SELECT reads, sorted.
func Tables() []string { return catalog.Tables() }

// ExecPiece parses and runs one piece of script; error positions are
// offsets in script, with line and column filled in.
func (c *Catalog) ExecPiece(ctx context.Context, script string, piece Piece) (_ *Result, err error) {
	defer recoverStatement(piece.Offset, &err)
	stmt, err := sqlparse.ParsePiece(script, piece)
	if err != nil {
		return nil, err
	}
	res, err := c.ExecStatement(ctx, stmt)
	if err != nil {
		return res, locate(err, script)
	}
	return res, nil
}

// locate gives an error raised after parsing (by the catalog) the line and
// column of its position in script.
func locate(err error, script string) error {
	var e *Error
	if errors.As(err, &e) && e.Line == 0 {
		e.Locate(script)
	}
	return err
}

// RotateKey re-encrypts every secret under the key newKeys provides, in
// one transaction (see catalog.(*Catalog).RotateKey): make the new key
// durable first, and open the catalog with it from then on.
func (c *Catalog) RotateKey(ctx context.Context, newKeys KeyProvider) error {
	if c.closed.Load() {
		return coded(ctx, errDBClosed, -1)
	}
	if err := c.cat.RotateKey(ctx, newKeys); err != nil {
		return coded(ctx, err, -1)
	}
	c.events.keyRotated()
	return nil
}

// statementContext bounds a statement by the catalog's statement timeout
// (WithStatementTimeout), unless the caller's context ends sooner.
func (c *Catalog) statementContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.statementTimeout <= 0 {
		return ctx, func() {}
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= c.statementTimeout {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, c.statementTimeout, errStatementTimeout)
}
