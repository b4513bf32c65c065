package dataplane

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
	"github.com/conncat/conncat/validate"
)

// Plane hands out AWS configs for connections and keeps their
// credential providers (see providerKey), each shared by every config
// handed out for it.
type Plane struct {
	cat         *catalog.Executor
	catalogName string
	cacheOpts   awscreds.CacheOptions
	publicOnly  bool
	observer    Observer
	unreachable func(error) bool

	ambientOnce sync.Once
	given       *aws.Config
	ambient     aws.Config
	ambientErr  error

	mu sync.Mutex
	// providers holds the built providers: one per AWS connection used as
	// it is, one per S3 connection (scoped to its prefix), each per role
	// when sessions carry the role (see providerKey).
	providers map[providerKey]builtProvider
	// suspect holds the providers set aside: each is checked against the
	// catalog on next use and kept if its connection did not change (no
	// STS call). Set aside are: all of them when changes may have been
	// missed (the change feed was down), served as last-good while the
	// catalog's database is unreachable; those the feed says changed (this
	// handle's own changes come back that way too, after it rebuilt
	// them), which are not (see builtProvider.changed); and one built from
	// a read the catalog changed under.
	suspect map[providerKey]builtProvider
	// generation counts invalidations of everything, and idGeneration
	// those of each connection, so a provider built from a spec read
	// before an ALTER of its connection is not kept after it (changes to
	// other connections do not matter).
	generation   uint64
	idGeneration map[string]uint64
	// changedAt is each connection's idGeneration when this handle last
	// changed it (invalidate): a provider read before that is known to be
	// stale, not merely named.
	changedAt map[string]uint64
	// allowed holds the roles found to have USAGE on a connection their
	// config was made for (usage.go).
	allowed map[usageKey]bool
	// use records the roles assumed (WithUseAudit); nil records nothing.
	use *useAuditor
	// identity, when set, is the source identity of sessions made with
	// no role in the context (WithSessionIdentity); "" sends none.
	identity string
	// signers holds, for tokens, the config made for each name and role,
	// so a token reads no catalog (tokens.go); signersGen counts what may
	// have changed them (feed names and this handle's changes alike),
	// signersDropped this handle's changes only.
	signers                    map[signerKey]tokenSigner
	signersGen, signersDropped uint64
}

// providerKey names one credentials provider. aws is the AWS connection
// whose credentials it makes; s3 is set for an S3 connection's own
// provider, whose sessions carry a policy limiting them to its prefix; role
// is set when sessions carry the role that asked (WithSessionIdentity).
type providerKey struct{ aws, s3, role string }

// id is the connection the provider serves, which its catalog reads resolve.
func (k providerKey) id() string {
	if k.s3 != "" {
		return k.s3
	}
	return k.aws
}

// names reports whether a change of connection id concerns the provider.
func (k providerKey) names(id string) bool { return k.aws == id || k.s3 == id }

// keyGeneration is where a key's connections' generations stood.
type keyGeneration struct{ all, aws, s3 uint64 }

// Ambient is the engine's own AWS config: the one given (Config.AWS), or
// the SDK's default chain (environment, shared profile, web identity /
// IRSA, IMDS), loaded once on first use.
func (d *Plane) Ambient(ctx context.Context) (aws.Config, error) {
	d.ambientOnce.Do(func() {
		if d.given != nil {
			d.ambient = d.given.Copy()
		} else {
			// The SDK's logger would print to the engine's stderr (retry
			// warnings, IMDS probes): conncat is silent by default.
			d.ambient, d.ambientErr = config.LoadDefaultConfig(context.WithoutCancel(ctx), config.WithLogger(logging.Nop{}))
			if d.ambientErr != nil {
				d.ambientErr = fmt.Errorf("load the engine's AWS configuration: %w", d.ambientErr)
				return
			}
		}
		d.ambient.HTTPClient = awsHTTPClient(d.ambient.HTTPClient, d.publicOnly)
	})
	return d.ambient, d.ambientErr
}

// builtProvider is a connection's provider and the spec it was built
// from, to tell whether a later read of the catalog changed anything.
type builtProvider struct {
	p    aws.CredentialsProvider
	spec connection.Spec
	// scope is what its sessions carry beyond the spec.
	scope connection.SessionScope
	// region is the one the connection's calls use.
	region string
	health *health
	// changed marks a provider set aside because its connection is known
	// to have changed: it is never served without the check.
	changed bool
}

// provider returns the shared credentials provider of key, building it
// from the catalog on first use or after an invalidation.
func (d *Plane) provider(ctx context.Context, key providerKey) (builtProvider, error) {
	d.mu.Lock()
	built, ok := d.providers[key]
	if ok { // the hot path: every Retrieve of every config handed out
		d.mu.Unlock()
		return built, nil
	}
	suspect, wasSuspect := d.suspect[key]
	gen := d.generationOf(key)
	d.mu.Unlock()
	r, err := d.cat.ResolveID(ctx, key.id())
	if err != nil {
		if wasSuspect && !suspect.changed && d.catalogUnreachable(err) {
			return suspect, nil // keep-last-good through the outage
		}
		return builtProvider{}, err
	}
	scope, err := d.scopeFor(key, r)
	if err != nil {
		return builtProvider{}, err
	}
	if wasSuspect && suspect.madeFrom(r.AWS, scope) {
		built = suspect // unchanged: keep its cached credentials
		built.changed = false
	} else if built, err = d.build(ctx, key, r, scope); err != nil {
		return builtProvider{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if existing, ok := d.providers[key]; ok {
		return existing, nil // another goroutine built it first: share one
	}
	if d.generationOf(key) == gen {
		d.providers[key] = built
		delete(d.suspect, key)
	} else {
		// Something was named or changed while we read it: use this
		// provider for this call and check it against the catalog on the
		// next. Marked changed only if this handle changed it (never served
		// unchecked, even through an outage); a name heard on the feed
		// (often this connection's own CREATE, heard back) proves nothing,
		// and a mark would stop it serving its last good credentials
		// through an outage that began before that check.
		built.changed = d.changedAt[key.aws] > gen.aws || key.s3 != "" && d.changedAt[key.s3] > gen.s3
		d.suspect[key] = built
	}
	return built, nil
}

// generationOf is where key's generations stand; the caller holds d.mu.
func (d *Plane) generationOf(key providerKey) keyGeneration {
	g := keyGeneration{all: d.generation, aws: d.idGeneration[key.aws]}
	if key.s3 != "" {
		g.s3 = d.idGeneration[key.s3]
	}
	return g
}

// madeFrom reports whether the provider was built from spec and scope: a
// later read of the catalog that says the same keeps it.
func (b builtProvider) madeFrom(spec connection.Spec, scope connection.SessionScope) bool {
	return reflect.DeepEqual(b.spec, spec) && reflect.DeepEqual(b.scope, scope)
}

// scopeFor is what key's sessions carry: an S3 connection's are limited
// to its prefix by a session policy (built from what the catalog says now,
// so an ALTER of the prefix changes it); with session identity, each says
// who asked.
func (d *Plane) scopeFor(key providerKey, r *catalog.Resolved) (connection.SessionScope, error) {
	var s3 *connection.S3URL
	if key.s3 != "" {
		s3 = r.S3
	}
	return d.scopeOf(key, r.Name, r.AWS, s3)
}

// scopeOf is the scope of sessions of spec's role for key: limited to s3
// when set, saying who asked when key names a role.
func (d *Plane) scopeOf(key providerKey, name string, spec connection.Spec, s3 *connection.S3URL) (connection.SessionScope, error) {
	var scope connection.SessionScope
	if !spec.AssumesRole() {
		return scope, nil // nothing narrows static keys
	}
	if s3 != nil {
		scope.Policy = connection.SessionPolicy(connection.PartitionOf(spec.RoleARN), s3.Bucket, s3.Prefix)
		if n := utf8.RuneCountInString(scope.Policy); n > connection.MaxSessionPolicyChars {
			// Only a connection made before prefixes were checked for it.
			return scope, (&sqlerror.Error{Code: sqlstate.ProgramLimitExceeded, Position: -1,
				Message: fmt.Sprintf("connection %q: the session policy for its prefix would be %d characters, over AssumeRole's limit of %d", name, n, connection.MaxSessionPolicyChars)}).
				WithHint("ALTER CONNECTION " + sqlparse.QuoteIdent(name) + " SET (PREFIX = ...) to a shorter prefix.")
		}
	}
	if key.role != "" {
		scope.SourceIdentity, scope.Tags = sessionIdentity(key.role), d.sessionTags(key)
	}
	return scope, nil
}

func (d *Plane) build(ctx context.Context, key providerKey, r *catalog.Resolved, scope connection.SessionScope) (builtProvider, error) {
	ambient, err := d.Ambient(ctx)
	if err != nil && r.AWS.AssumesRole() {
		return builtProvider{}, err
	}
	opts, spec := d.cacheOpts, r.AWS
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := newHealth(key, spec, opts.Now)
	opts.OnAssumed = h.assumed
	region := awscreds.Region(spec, ambient.Region)
	opts.OnRefreshStart = h.started
	opts.OnRefresh = func(ev awscreds.RefreshEvent) {
		var classified validate.Problem
		if ev.Err != nil {
			classified = classifyRefresh(spec, region, ev.Err)
		}
		h.refreshed(ev, classified.Message)
		d.observer.Refreshed(spec, ev, classified)
		if ev.Err == nil && !ev.Inner && spec.AssumesRole() {
			d.use.assumed(spec, key, scope, d.catalogName, opts.Now())
		}
	}
	p, err := awscreds.NewProvider(r.AWS, d.catalogName, scope, ambient.Credentials, awscreds.NewSTSFactory(ambient), opts)
	if err != nil {
		return builtProvider{}, fmt.Errorf("connection %q: %w", r.Name, err)
	}
	return builtProvider{p: p, spec: r.AWS, scope: scope, region: region, health: h}, nil
}

// catalogUnreachable reports an error that says the catalog's database
// could not be reached (08xxx), not that the connection is gone.
func (d *Plane) catalogUnreachable(err error) bool { return d.unreachable(err) }

// Recheck handles connections the change feed names (changed on another
// handle, or on this one, which already rebuilt them — or named by anyone
// who can NOTIFY the catalog's channel: a name is a hint, never proof).
// Their providers are set aside at once, so none is served unchecked,
// then each is checked against the catalog: kept if its connection did
// not change (a handle's own change costs no second STS call), forgotten
// if the connection is gone (a DROP on another node leaves nothing behind
// here), marked changed (rebuilt on next use) only when the catalog says
// so. A catalog that cannot be read confirms nothing: the provider stays
// set aside like any other during an outage, and keeps serving its last
// good credentials (a forged name cannot take them away).
func (d *Plane) Recheck(ctx context.Context, ids []string) {
	gens := d.setAsideNamed(ids)
	// A catalog that does not answer leaves them set aside; the feed must
	// not wait on it for long.
	ctx, cancel := context.WithTimeout(ctx, recheckTimeout)
	defer cancel()
	held := map[string]bool{}
	for key, gen := range gens {
		d.observer.Rechecked(key.id(), d.settle(ctx, key, gen))
		held[key.aws], held[key.s3] = true, true
	}
	for _, id := range ids {
		if !held[id] {
			d.observer.Rechecked(id, "not held") // nothing cached here: the next use reads the catalog anyway
		}
	}
}

// settle checks one set-aside provider against the catalog and says what
// became of it.
func (d *Plane) settle(ctx context.Context, key providerKey, gen keyGeneration) string {
	r, err := d.cat.ResolveID(ctx, key.id())
	var scope connection.SessionScope
	if err == nil {
		scope, err = d.scopeFor(key, r)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	built, ok := d.suspect[key]
	now := d.generationOf(key)
	switch {
	case !ok || now.aws != gen.aws || now.s3 != gen.s3:
		return "superseded" // used, rebuilt or changed again meanwhile: not ours to settle
	case err == nil && built.madeFrom(r.AWS, scope):
		built.changed = false
		d.providers[key] = built
		delete(d.suspect, key)
		return "unchanged"
	case err != nil && isCode(err, sqlstate.UndefinedObject):
		if c, ok := built.p.(*awscreds.Cache); ok {
			c.Invalidate()
		}
		delete(d.suspect, key)
		return "dropped"
	case err != nil:
		return "unchecked" // the catalog did not answer: set aside, last good served through an outage
	}
	built.changed = true
	d.suspect[key] = built
	return "changed"
}

// recheckTimeout bounds the catalog reads of one recheck.
const recheckTimeout = 10 * time.Second

// setAsideNamed sets aside the providers of ids until they are checked
// against the catalog (not yet marked changed: see recheck), and returns
// the generation each was set aside at.
func (d *Plane) setAsideNamed(ids []string) map[providerKey]keyGeneration {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forgetUsage(ids)
	d.suspectSigners(ids)
	for _, id := range ids {
		d.idGeneration[id]++
	}
	gens := map[providerKey]keyGeneration{}
	for _, m := range []map[providerKey]builtProvider{d.providers, d.suspect} {
		for key, built := range m {
			if namesAny(key, ids) {
				d.suspect[key] = built
				delete(d.providers, key)
				gens[key] = d.generationOf(key)
			}
		}
	}
	return gens
}

// isCode reports whether err is conncat's error with SQLSTATE code.
func isCode(err error, code string) bool {
	var e *sqlerror.Error
	return errors.As(err, &e) && e.Code == code
}

// Invalidate forgets the providers of the given connections, which this
// handle changed; configs already handed out pick up the new state on
// their next request.
func (d *Plane) Invalidate(ids []string) {
	if len(ids) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forgetUsage(ids)
	d.dropSigners(ids)
	for _, id := range ids {
		d.idGeneration[id]++
		d.changedAt[id] = d.idGeneration[id]
	}
	for _, m := range []map[providerKey]builtProvider{d.providers, d.suspect} {
		for key, built := range m {
			if !namesAny(key, ids) {
				continue
			}
			if c, ok := built.p.(*awscreds.Cache); ok {
				c.Invalidate()
			}
			delete(m, key)
		}
	}
}

// namesAny reports whether a change of any of ids concerns key.
func namesAny(key providerKey, ids []string) bool {
	for _, id := range ids {
		if key.names(id) {
			return true
		}
	}
	return false
}

// Expiries are when the credentials served for each connection expire
// (an S3 connection's own, scoped, under its ID),
// for the expires_in gauge: those set aside for a check too, as the
// status table shows them.
func (d *Plane) Expiries() map[string]time.Time {
	d.mu.Lock()
	caches := make(map[providerKey]*awscreds.Cache, len(d.providers)+len(d.suspect))
	for _, m := range []map[providerKey]builtProvider{d.suspect, d.providers} {
		for key, built := range m {
			if c, ok := built.p.(*awscreds.Cache); ok {
				caches[key] = c
			}
		}
	}
	d.mu.Unlock()
	// A connection with several providers (one per role) shows the
	// soonest: the gauge warns of the first to run out.
	out := make(map[string]time.Time, len(caches))
	for key, c := range caches {
		if at, ok := c.Expires(); ok {
			if was, seen := out[key.id()]; !seen || at.Before(was) {
				out[key.id()] = at
			}
		}
	}
	return out
}

// SuspectAll sets every provider aside: the catalog may have changed in
// ways this process did not hear of. Each is checked on next use (see
// provider) rather than dropped, so a feed that merely reconnected costs
// no STS call, and an unreachable catalog does not stop the data plane.
func (d *Plane) SuspectAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.generation++
	d.forgetUsage(nil)
	d.suspectSigners(nil)
	for id, built := range d.providers {
		d.suspect[id] = built
		delete(d.providers, id)
	}
}

// liveCredentials is the provider in every config handed out: it looks up
// the connection's current provider on each call, so ALTER SECRET, ALTER
// CONNECTION and DROP CONNECTION take effect on configs already in use.
type liveCredentials struct {
	plane *Plane
	key   providerKey
	name  string
	// usage is the role the config was made for and its connection, when
	// it was made with a role (hasRole).
	usage   usageKey
	hasRole bool
}

func (l *liveCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if l.hasRole {
		if err := l.plane.mayUse(ctx, l.usage); err != nil {
			return aws.Credentials{}, err
		}
	}
	built, err := l.plane.provider(ctx, l.key)
	if err != nil {
		return aws.Credentials{}, err
	}
	creds, err := built.p.Retrieve(ctx)
	if err != nil {
		target := explainTarget(built.spec, nil)
		target.Scope = built.scope // a role refusing the identity is explained as such
		return aws.Credentials{}, &connectionError{target: target, region: built.region,
			err: fmt.Errorf("credentials for connection %q: %w", l.name, err)}
	}
	return creds, nil
}

// AWSConfig returns an aws.Config for the named connection (AWS or S3):
// its region and ENDPOINT, the engine's HTTP client and retry settings,
// and credentials that are cached, refreshed ahead of expiry and shared by
// every config of the same connection. Region and endpoint are read now;
// credentials follow later ALTERs (a dropped connection's config fails).
// The role in ctx (catalog.WithRole) must be allowed to use it.
func (d *Plane) AWSConfig(ctx context.Context, name string) (aws.Config, error) {
	r, err := d.cat.Resolve(ctx, name)
	if err != nil {
		return aws.Config{}, err
	}
	return d.awsConfig(ctx, r)
}

func (d *Plane) awsConfig(ctx context.Context, r *catalog.Resolved) (aws.Config, error) {
	ambient, err := d.Ambient(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	role, hasRole := catalog.RoleFrom(ctx)
	live := &liveCredentials{plane: d, key: d.keyFor(r, role, hasRole), name: r.AWS.Name}
	if hasRole {
		// Checked when r was read; checked again at the first Retrieve
		// (then cached), which knows the connection's generation.
		live.usage, live.hasRole = usageKey{role: role, connID: r.ID}, true
	}
	cfg := awscreds.ConfigFor(ambient, r.AWS, live)
	// Clipped: configs share the ambient config's array, and an append
	// into its spare capacity would be seen by every one of them.
	target := explainTarget(r.AWS, r.S3)
	if scope, err := d.scopeFor(live.key, r); err == nil {
		target.Scope = scope // a refusal outside a scoped prefix is explained as the scope's
	}
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), explainCalls(target, cfg.Region))
	return cfg, nil
}

// keyFor is the provider of a config made for r by role: an S3
// connection gets its own, whose sessions a session policy limits to its
// prefix, so that AWS itself refuses anything outside it; with session
// identity, one per role. The key does not depend on how the connection
// authenticates today: a config made while its AWS connection had static
// keys (which no session can narrow: DECISIONS) must be scoped once an
// ALTER gives it a role.
func (d *Plane) keyFor(r *catalog.Resolved, role string, hasRole bool) providerKey {
	key := providerKey{aws: r.AWS.ID, role: d.identityRole(role, hasRole)}
	if r.S3 != nil {
		key.s3 = r.ID
	}
	return key
}

// S3Location is an S3 connection made ready to use: a client with the
// connection's credentials, its bucket and its prefix.
type S3Location struct {
	Client *s3.Client
	Bucket string
	// Prefix is the connection's key prefix, "" or ending in "/".
	Prefix string
}

// S3Location returns the client, bucket and prefix of an S3 connection.
// With an ENDPOINT (MinIO and other S3-compatible stores) the client uses
// path-style addressing, which those stores expect.
func (d *Plane) S3Location(ctx context.Context, name string) (*S3Location, error) {
	r, err := d.cat.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.Type != sqlparse.ConnectionS3 {
		return nil, (&sqlerror.Error{Code: sqlstate.WrongObjectType, Position: -1,
			Message: fmt.Sprintf("connection %q is an AWS connection, not an S3 connection", name)}).
			WithHint("Create an S3 connection with CREATE CONNECTION ... TO S3 (PREFIX = 's3://bucket/prefix/') USING AWS CONNECTION " + sqlparse.QuoteIdent(name) + ".")
	}
	cfg, err := d.awsConfig(ctx, r)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, awscreds.S3Options(r.AWS))
	return &S3Location{Client: client, Bucket: r.S3.Bucket, Prefix: r.S3.Prefix}, nil
}

// ErrOutsidePrefix is returned for a key that would leave the prefix.
var ErrOutsidePrefix = errors.New("key is outside the connection's prefix")

// Key returns the object key for name under the prefix. It refuses (with
// an error wrapping ErrOutsidePrefix) names that are empty, absolute, or
// hold ".", ".." or empty segments, a backslash, control characters or
// invalid UTF-8, or that would make a key over S3's 1,024 bytes: S3 keeps
// such names literally, but S3-compatible stores and tools that map keys
// to paths do not, and a key must never land outside the prefix.
func (l *S3Location) Key(name string) (string, error) {
	if err := connection.CheckObjectName(l.Prefix, name); err != nil {
		return "", fmt.Errorf("%w: %v", ErrOutsidePrefix, err)
	}
	return l.Prefix + name, nil
}

// Contains reports whether key lies under the prefix.
func (l *S3Location) Contains(key string) bool {
	if !strings.HasPrefix(key, l.Prefix) || len(key) == len(l.Prefix) {
		return false
	}
	_, err := l.Key(key[len(l.Prefix):])
	return err == nil
}
