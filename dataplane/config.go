// Package dataplane is conncat's data plane: the AWS configs, S3
// locations and auth tokens an engine's connectors use, with credentials
// shared per connection, refreshed ahead of expiry, scoped to what their
// connection names (an S3 connection's prefix, by a session policy AWS
// enforces) and following every change of the catalog; the status of
// each connection's credentials; and Explain, which tells a failure the
// way VALIDATE tells a failed check. The root package hands it the catalog
// and puts it behind the engine's API (conncat.Catalog's AWSConfig,
// S3Location, RDSAuthToken, MSKAuthToken, Explain); it knows nothing of
// logging or metrics beyond its Observer.
package dataplane

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/sqlparse"
	"github.com/conncat/conncat/validate"
)

// Config is what a Plane is made from.
type Config struct {
	Catalog *catalog.Executor
	// Name is the catalog's name, in default session names and tags.
	Name  string
	Cache awscreds.CacheOptions
	// PublicOnly refuses connections to private addresses.
	PublicOnly bool
	// AWS is the engine's own AWS config; nil loads the SDK's default
	// chain on first use.
	AWS *aws.Config
	// Observer hears of refreshes and rechecks; nil hears nothing.
	Observer Observer
	// Unreachable reports an error that says the catalog's database could
	// not be reached (SQLSTATE class 08), as the engine's API codes it:
	// providers and token signers then keep serving what they had.
	Unreachable func(error) bool
	// UseAudit records every role assumed in mz_audit_events (see
	// conncat.WithUseAudit), removing use events older than UseRetention
	// (0: keep them).
	UseAudit     bool
	UseRetention time.Duration
}

// Observer hears what the data plane does off the engine's calls, for
// logs and metrics. Calls come from refresh goroutines and the change
// feed's; they must not block.
type Observer interface {
	// Refreshed is a credentials refresh of spec, with its error (if any)
	// as VALIDATE would explain it.
	Refreshed(spec connection.Spec, ev awscreds.RefreshEvent, p validate.Problem)
	// Rechecked is the outcome of checking a connection the change feed
	// named against the catalog ("unchanged", "changed", "dropped",
	// "unchecked", "superseded", "not held").
	Rechecked(id, outcome string)
}

type silent struct{}

func (silent) Refreshed(connection.Spec, awscreds.RefreshEvent, validate.Problem) {}
func (silent) Rechecked(string, string)                                           {}

// New returns the data plane of cfg.Catalog, whose session identity it
// follows (WithSessionIdentity is the catalog's choice).
func New(cfg Config) *Plane {
	d := &Plane{
		cat: cfg.Catalog, catalogName: cfg.Name, cacheOpts: cfg.Cache, publicOnly: cfg.PublicOnly,
		observer: cfg.Observer, unreachable: cfg.Unreachable, given: cfg.AWS, identity: cfg.Catalog.SessionIdentity(),
		providers: map[providerKey]builtProvider{}, suspect: map[providerKey]builtProvider{},
		idGeneration: map[string]uint64{}, changedAt: map[string]uint64{},
		signers: map[signerKey]tokenSigner{}, allowed: map[usageKey]bool{},
	}
	if d.observer == nil {
		d.observer = silent{}
	}
	if d.unreachable == nil {
		d.unreachable = func(error) bool { return false }
	}
	if cfg.UseAudit {
		d.use = newUseAuditor(cfg.Catalog, cfg.UseRetention)
	}
	return d
}

// Close stops recording use events, writing those queued first.
func (d *Plane) Close() { d.use.close() }

// Name is the catalog's name.
func (d *Plane) Name() string { return d.catalogName }

// ValidationTarget is what VALIDATE checks for r: its AWS connection,
// with s3 (nil: none) as the path, assuming the role as the data plane
// will — limited to that path, saying who asked (the role in ctx) when
// session identity is on.
func (d *Plane) ValidationTarget(ctx context.Context, r *catalog.Resolved, s3 *connection.S3URL) (validate.Target, error) {
	role, hasRole := catalog.RoleFrom(ctx)
	key := providerKey{aws: r.AWS.ID, s3: r.ID, role: d.identityRole(role, hasRole)}
	scope, err := d.scopeOf(key, r.Name, r.AWS, s3)
	if err != nil {
		return validate.Target{}, err
	}
	return validate.Target{Spec: r.AWS, NameSQL: sqlparse.QuoteIdent(r.AWS.Name), CatalogName: d.catalogName, S3: s3, Scope: scope}, nil
}

// classifyRefresh explains a refresh's error as VALIDATE would (region
// is the connection's calls').
func classifyRefresh(spec connection.Spec, region string, err error) validate.Problem {
	return (&connectionError{target: explainTarget(spec, nil), region: region, err: err}).problem("")
}
