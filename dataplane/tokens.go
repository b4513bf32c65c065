package dataplane

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-msk-iam-sasl-signer-go/signer"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/safeprint"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// AuthToken is a short-lived password signed with a connection's
// credentials: an RDS / Aurora IAM token (the database password) or an MSK
// IAM token (Kafka's SASL OAUTHBEARER token). It is a credential: it
// prints as its expiry only, under every fmt verb and encoder.
type AuthToken struct {
	value string
	// Expires is when the token stops working: its own 15 minutes, or
	// the end of the credentials that signed it if that comes first.
	Expires time.Time
}

// Value is the token to hand to the client.
func (t AuthToken) Value() string { return t.value }

func (t AuthToken) String() string {
	return "auth token (expires " + t.Expires.UTC().Format(time.RFC3339) + ")"
}

func (t AuthToken) Format(f fmt.State, _ rune)   { safeprint.Format(f, t.String()) }
func (t AuthToken) GoString() string             { return t.String() }
func (t AuthToken) MarshalJSON() ([]byte, error) { return safeprint.JSON(t.String()) }
func (t AuthToken) MarshalXML(e *xml.Encoder, s xml.StartElement) error {
	return safeprint.XML(e, s, t.String())
}
func (t AuthToken) LogValue() slog.Value { return slog.StringValue(t.String()) }

// tokenLifetime is what RDS and MSK accept as a presigned token's life.
const tokenLifetime = 15 * time.Minute

// RDSAuthToken returns an IAM authentication token for the database user
// dbUser at endpoint ("host:port" of an RDS or Aurora instance, PostgreSQL
// or MySQL), signed with the connection's credentials for its region: the
// password a client connects with. The credentials are the shared cached
// ones (no STS call per token), and follow ALTER, DROP and key rotation
// as AWSConfig's do. Errors explain themselves through Explain.
func (d *Plane) RDSAuthToken(ctx context.Context, connection, endpoint, dbUser string) (AuthToken, error) {
	if err := checkRDSTarget(endpoint, dbUser); err != nil {
		return AuthToken{}, err
	}
	creds, region, err := d.signingCredentials(ctx, connection)
	if err != nil {
		return AuthToken{}, err
	}
	token, err := auth.BuildAuthToken(ctx, endpoint, region, dbUser, staticProvider{creds})
	if err != nil {
		return AuthToken{}, fmt.Errorf("sign an RDS token for connection %q: %w", connection, err)
	}
	signedAt, err := presignedAt("https://" + token)
	if err != nil {
		return AuthToken{}, err
	}
	return AuthToken{value: token, Expires: capExpiry(signedAt.Add(tokenLifetime), creds)}, nil
}

// MSKAuthToken returns an MSK IAM SASL token (for SASL/OAUTHBEARER) signed
// with the connection's credentials for its region, and when it expires:
// never after the credentials that signed it, so a Kafka client that
// re-authenticates before the expiry it is given never holds a token
// that outlived them. Same credentials as RDSAuthToken.
func (d *Plane) MSKAuthToken(ctx context.Context, connection string) (AuthToken, error) {
	creds, region, err := d.signingCredentials(ctx, connection)
	if err != nil {
		return AuthToken{}, err
	}
	token, expiresMs, err := signer.GenerateAuthTokenFromCredentialsProvider(ctx, region, staticProvider{creds})
	if err != nil {
		return AuthToken{}, fmt.Errorf("sign an MSK token for connection %q: %w", connection, err)
	}
	return AuthToken{value: token, Expires: capExpiry(time.UnixMilli(expiresMs), creds)}, nil
}

// signingCredentials are the connection's current credentials, from the
// data plane's shared cache, and its region. In steady state they cost no
// catalog read: the config made for a name (and role) is kept until the
// connection changes (see signers).
func (d *Plane) signingCredentials(ctx context.Context, name string) (aws.Credentials, string, error) {
	role, hasRole := catalog.RoleFrom(ctx)
	key := signerKey{name: name, role: role, hasRole: hasRole}
	s, ok := d.signer(key)
	if !ok || s.suspect {
		fresh, err := d.newSigner(ctx, key)
		switch {
		case err == nil:
			s = fresh
		case !ok || !d.catalogUnreachable(err):
			return aws.Credentials{}, "", err
		} // else the set-aside signer serves through the outage
	}
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, "", err
	}
	return creds, s.region, nil
}

// newSigner resolves a name for tokens and keeps what it found, unless
// the catalog changed meanwhile.
func (d *Plane) newSigner(ctx context.Context, key signerKey) (tokenSigner, error) {
	gen := d.signersGeneration()
	r, err := d.cat.Resolve(ctx, key.name)
	if err != nil {
		return tokenSigner{}, err
	}
	if r.Type != sqlparse.ConnectionAWS {
		return tokenSigner{}, (&sqlerror.Error{Code: sqlstate.WrongObjectType, Position: -1,
			Message: fmt.Sprintf("connection %q is an S3 connection, not an AWS connection", key.name)}).
			WithHint("Tokens are signed with an AWS connection's credentials: use " + sqlparse.QuoteIdent(r.AWS.Name) + ".")
	}
	cfg, err := d.awsConfig(ctx, r)
	if err != nil {
		return tokenSigner{}, err
	}
	s := tokenSigner{creds: cfg.Credentials, region: cfg.Region, id: r.ID}
	d.keepSigner(key, s, gen)
	return s, nil
}

// capExpiry is a token's expiry, no later than its credentials'.
func capExpiry(token time.Time, creds aws.Credentials) time.Time {
	if creds.CanExpire && creds.Expires.Before(token) {
		return creds.Expires
	}
	return token
}

// presignedAt is the signing time a presigned URL carries.
func presignedAt(raw string) (time.Time, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the signed token: %w", err)
	}
	return time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
}

// staticProvider hands the signers the very credentials whose expiry caps
// the token's, rather than a provider that could refresh in between.
type staticProvider struct{ creds aws.Credentials }

func (p staticProvider) Retrieve(context.Context) (aws.Credentials, error) { return p.creds, nil }

// maxDBUserLen bounds a database user name: PostgreSQL's are 63 bytes,
// MySQL's 32; anything longer is a mistake, not a user.
const maxDBUserLen = 128

// checkRDSTarget refuses an endpoint that is not host:port and a user
// name no database has (22023), before anything is signed.
func checkRDSTarget(endpoint, dbUser string) error {
	host, port, err := net.SplitHostPort(endpoint)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || len(endpoint) > 255 || perr != nil || n < 1 || n > 65535 || strings.ContainsAny(host, "/?#@ ") {
		return (&sqlerror.Error{Code: sqlstate.InvalidParameterValue, Position: -1,
			Message: fmt.Sprintf("RDS endpoint %q is not host:port", truncate(endpoint, 80))}).
			WithHint("Give the instance's or cluster's endpoint and port, as the console shows them: mydb.abc123.eu-west-1.rds.amazonaws.com:5432.")
	}
	if dbUser == "" || len(dbUser) > maxDBUserLen || strings.IndexFunc(dbUser, unicode.IsControl) >= 0 {
		return (&sqlerror.Error{Code: sqlstate.InvalidParameterValue, Position: -1,
			Message: "RDS database user must be 1 to 128 characters without control characters"}).
			WithHint("Give the database user that was granted rds_iam (PostgreSQL) or created WITH AWSAuthenticationPlugin (MySQL).")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// signerKey is a connection's name as a token call gives it, and the role
// it is made for.
type signerKey struct {
	name, role string
	hasRole    bool
}

// tokenSigner is what tokens are signed with: a config's credentials (which
// follow every change of the connection) and region, and the connection's
// ID, whose change (ALTER, RENAME, DROP, REVOKE) drops it.
type tokenSigner struct {
	creds  aws.CredentialsProvider
	region string
	id     string
	// suspect marks a signer whose connection may have changed (the feed
	// named it, or was down): the name is resolved again before use, and
	// the signer serves only while the catalog cannot be reached, as a set
	// aside provider does.
	suspect bool
}

// signer returns the kept signer of key.
func (d *Plane) signer(key signerKey) (tokenSigner, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.signers[key]
	return s, ok
}

// signerGeneration is where the signers stood when a name was resolved.
type signerGeneration struct{ any, dropped uint64 }

// signersGeneration is read before a name is resolved for keepSigner.
func (d *Plane) signersGeneration() signerGeneration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return signerGeneration{d.signersGen, d.signersDropped}
}

// keepSigner keeps s for key, as a provider is kept: not at all if this
// handle changed a connection meanwhile (what was resolved may be stale),
// set aside if the feed named one (checked on next use, served through an
// outage: often the name is the connection's own CREATE, heard back).
func (d *Plane) keepSigner(key signerKey, s tokenSigner, gen signerGeneration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.signersDropped != gen.dropped {
		return
	}
	s.suspect = d.signersGen != gen.any
	d.signers[key] = s
}

// dropSigners forgets the signers of connections ids (all for nil), which
// this handle changed; the caller holds d.mu.
func (d *Plane) dropSigners(ids []string) {
	d.signersGen++
	d.signersDropped++
	for key, s := range d.signers {
		if ids == nil || slices.Contains(ids, s.id) {
			delete(d.signers, key)
		}
	}
}

// suspectSigners sets aside the signers of connections ids (all for nil),
// which may have changed; the caller holds d.mu.
func (d *Plane) suspectSigners(ids []string) {
	d.signersGen++
	for key, s := range d.signers {
		if ids == nil || slices.Contains(ids, s.id) {
			s.suspect = true
			d.signers[key] = s
		}
	}
}
