package conncat

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/dataplane"
	"github.com/conncat/conncat/validate"
)

// The engine's face of the data plane (package dataplane): each call
// checks the catalog is open and codes its error as every call does.

// S3Location is an S3 connection made ready to use: a client with the
// connection's credentials, its bucket and its prefix (see its Key).
type S3Location = dataplane.S3Location

// AuthToken is a short-lived password signed with a connection's
// credentials (RDSAuthToken, MSKAuthToken); it prints as its expiry only.
type AuthToken = dataplane.AuthToken

// Explanation is an error of the data plane told the way VALIDATE tells a
// failed check (see Explain).
type Explanation = dataplane.Explanation

// ErrOutsidePrefix is returned for a key that would leave an S3
// connection's prefix.
var ErrOutsidePrefix = dataplane.ErrOutsidePrefix

// The statuses of mz_internal.mz_aws_connection_statuses (see dataplane).
const (
	StatusRefreshing = dataplane.StatusRefreshing
	StatusFresh      = dataplane.StatusFresh
	StatusStale      = dataplane.StatusStale
	StatusFailed     = dataplane.StatusFailed
	StatusExpired    = dataplane.StatusExpired
	StatusStatic     = dataplane.StatusStatic
)

// Explain explains an error from anything conncat handed out: an
// aws.Config of AWSConfig and the clients built from it, an S3Location's
// client, its credentials, an auth token. It gives the message, hint and
// retry verdict VALIDATE CONNECTION would give for the same failure, in
// terms of the connection (its role, external ID, region, prefix). Other
// errors are explained as far as their AWS error code allows. nil gives
// the zero Explanation.
func Explain(err error) Explanation { return dataplane.Explain(err) }

// AWSConfig returns an aws.Config for the named connection (AWS or S3):
// its region and ENDPOINT, the engine's HTTP client and retry settings,
// and credentials that are cached, refreshed ahead of expiry and shared by
// every config of the same connection; an S3 connection's are limited by
// AWS to its prefix. Region and endpoint are read now; credentials follow
// later ALTERs (a dropped connection's config fails), and a config made
// for a role (WithRole) serves only while the role may use the connection.
func (c *Catalog) AWSConfig(ctx context.Context, name string) (_ aws.Config, err error) {
	defer func() { err = coded(ctx, err, -1) }()
	if c.closed.Load() {
		return aws.Config{}, errDBClosed
	}
	return c.plane.AWSConfig(ctx, name)
}

// S3Location returns the client, bucket and prefix of an S3 connection.
// With an ENDPOINT (MinIO and other S3-compatible stores) the client uses
// path-style addressing, which those stores expect.
func (c *Catalog) S3Location(ctx context.Context, name string) (_ *S3Location, err error) {
	defer func() { err = coded(ctx, err, -1) }()
	if c.closed.Load() {
		return nil, errDBClosed
	}
	return c.plane.S3Location(ctx, name)
}

// RDSAuthToken returns an IAM authentication token for the database user
// dbUser at endpoint ("host:port" of an RDS or Aurora instance, PostgreSQL
// or MySQL), signed with the connection's credentials for its region: the
// password a client connects with. The credentials are the shared cached
// ones (no STS call per token), and follow ALTER, DROP and key rotation
// as AWSConfig's do. Errors explain themselves through Explain.
func (c *Catalog) RDSAuthToken(ctx context.Context, connection, endpoint, dbUser string) (_ AuthToken, err error) {
	defer func() { err = coded(ctx, err, -1) }()
	if c.closed.Load() {
		return AuthToken{}, errDBClosed
	}
	return c.plane.RDSAuthToken(ctx, connection, endpoint, dbUser)
}

// MSKAuthToken returns an MSK IAM SASL token (for SASL/OAUTHBEARER) signed
// with the connection's credentials for its region, and when it expires:
// never after the credentials that signed it. Same credentials as
// RDSAuthToken.
func (c *Catalog) MSKAuthToken(ctx context.Context, connection string) (_ AuthToken, err error) {
	defer func() { err = coded(ctx, err, -1) }()
	if c.closed.Load() {
		return AuthToken{}, errDBClosed
	}
	return c.plane.MSKAuthToken(ctx, connection)
}

// DroppedUseEvents is how many use events WithUseAudit could not record
// (queue full, or the catalog refused them).
func (c *Catalog) DroppedUseEvents() int64 { return c.plane.DroppedUseEvents() }

// planeObserver hands the data plane's events to the catalog's logger and
// meters.
type planeObserver struct {
	events events
	meters *meters
}

func (o *planeObserver) Refreshed(spec connection.Spec, ev awscreds.RefreshEvent, p validate.Problem) {
	o.events.refreshed(spec, ev, p)
	if o.meters != nil {
		o.meters.refreshed(spec.ID, ev)
	}
}

func (o *planeObserver) Rechecked(id, outcome string) { o.events.rechecked(id, outcome) }

// catalogUnreachable reports an error that says the catalog's database
// could not be reached (08xxx), not that the connection is gone.
func catalogUnreachable(err error) bool {
	code, _ := classify(nil, err)
	return len(code) >= 2 && code[:2] == "08"
}

// WithSessionIdentity turns session identity on for the catalog: the
// sessions the data plane opens in customers' roles say who asked, so the
// customer sees in CloudTrail, and can test in IAM conditions, which
// engine user touched their data. Each session's SourceIdentity is the
// role in the call's context (WithRole), or fallback for calls with none,
// and it carries the session tags conncat:catalog, conncat:connection (the
// connection's ID) and conncat:role. Credentials are then cached per
// connection and role.
//
// AWS refuses such sessions unless the role's trust policy allows
// sts:SetSourceIdentity and sts:TagSession: turned on, SHOW TRUST POLICY
// (and every stored example trust policy) includes them, VALIDATE reports a
// role that does not allow them, and Explain says what to paste. The
// choice is the catalog's, recorded in it: a node opened without this
// option follows it, and one given another fallback is refused.
func WithSessionIdentity(fallback string) Option {
	return func(o *options) { o.SessionIdentity = fallback }
}

// WithUseAudit records in mz_audit_events each time the data plane
// assumes a connection's role (event_type assume_role: the connection,
// the role ARN, the session name, the node), and removes use events
// (assume_role, validate) older than retention (0: keep them). The events
// are written by a goroutine of their own, never on the credentials path:
// a refresh only queues one, and a queue that is full (the catalog's
// database is down, or slower than the refreshes) drops events rather than
// wait, counting them (DroppedUseEvents). VALIDATE is always recorded,
// with the statement.
func WithUseAudit(retention time.Duration) Option {
	return func(o *options) { o.useAudit, o.useRetention = true, retention }
}
