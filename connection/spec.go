package connection

import (
	"fmt"
	"time"
)

// Spec is everything needed to obtain credentials for one AWS connection,
// secrets included. It is what the catalog resolves and what credential
// providers and VALIDATE consume. Its String and every fmt verb redact the
// secret fields; read them directly, never print them.
type Spec struct {
	// ID and Name identify the connection in its catalog.
	ID, Name string

	// Static keys.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string

	// Assumed role.
	RoleARN     string
	SessionName string
	// Duration is 0 for STS's default (one hour).
	Duration   time.Duration
	ExternalID string
	// Principal is the engine's own identity that customers trust: an IAM
	// role (assumed first, as a jump role) or user (the ambient
	// credentials themselves), or "" for the ambient credentials.
	Principal string

	Region      string
	Endpoint    string
	STSEndpoint string

	// Extra holds the values of options that only pass through to
	// AssumeRole (rows with an AssumeRoleInput and no Field), as text; a
	// duration in whole seconds. None is a secret.
	Extra map[Option]string
}

// AssumesRole reports whether the connection uses a role rather than keys.
func (s Spec) AssumesRole() bool { return s.RoleARN != "" }

// String describes the connection without its secrets.
func (s Spec) String() string {
	if s.AssumesRole() {
		return fmt.Sprintf("aws connection %q (role %s)", s.Name, s.RoleARN)
	}
	// The access key ID is left out too: it may be stored as a SECRET.
	return fmt.Sprintf("aws connection %q (static keys)", s.Name)
}
