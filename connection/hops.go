package connection

import "fmt"

// Hop is one AssumeRole call in a connection's chain.
type Hop struct {
	RoleARN     string
	SessionName string
	// ExternalID is sent only on the hop into the customer's role.
	ExternalID string
	// Inputs are the customer hop's values of the options that go to
	// AssumeRole as they are (OptionDef.AssumeRoleInput), by input field:
	// ASSUME ROLE DURATION as DurationSeconds ("7200"); absent for STS's
	// default.
	Inputs map[string]string
	// Scope narrows the session (the customer hop only).
	Scope SessionScope
}

// assumeRoleInputs collects spec's values of the options that go to
// AssumeRole as they are.
func assumeRoleInputs(spec Spec) map[string]string {
	var in map[string]string
	for _, d := range Options {
		if v, ok := d.InputValue(spec); ok {
			if in == nil {
				in = map[string]string{}
			}
			in[d.AssumeRoleInput] = v
		}
	}
	return in
}

// SessionScope is what the customer hop's session carries beyond the role: an
// inline session policy, so that AWS itself refuses what the policy does
// not grant (an S3 connection's prefix), and who the session is for
// (SourceIdentity and session tags, shown in the customer's CloudTrail and
// testable in their IAM conditions). The zero SessionScope is none of them.
type SessionScope struct {
	Policy         string
	SourceIdentity string
	// Tags are sorted by key, so that equal scopes compare equal.
	Tags []Tag
}

// Tag is one session tag.
type Tag struct{ Key, Value string }

// IsZero reports whether the scope adds nothing to the session.
func (s SessionScope) IsZero() bool {
	return s.Policy == "" && s.SourceIdentity == "" && len(s.Tags) == 0
}

// DefaultSessionName is the session name conncat uses when a connection
// names none: conncat-<catalog>-<connection id>, always valid for STS, so
// CloudTrail in the customer's account says which engine and which
// connection acted.
func DefaultSessionName(catalogName, connectionID string) string {
	name := "conncat-" + connectionID
	if catalogName != "" {
		name = "conncat-" + catalogName + "-" + connectionID
	}
	if len(name) > MaxSessionNameLen {
		// Keep the connection ID, which is what makes the name useful,
		// and cut the catalog name instead.
		keep := MaxSessionNameLen - len("conncat--") - len(connectionID)
		if keep > 0 {
			name = "conncat-" + catalogName[:keep] + "-" + connectionID
		}
	}
	return SanitizeSessionName(name)
}

// Hops plans the AssumeRole calls for a connection that assumes a role
// (DESIGN §3):
//   - no principal, or an IAM user principal: one hop, the ambient
//     credentials assume the customer's role with the external ID;
//   - an IAM role principal: two hops, the ambient credentials assume the
//     principal (a jump role, no external ID), whose session assumes the
//     customer's role with the external ID. AWS caps that chained session at
//     one hour, so a longer duration is an error rather than a surprise at
//     the first refresh.
//
// scope goes on the customer hop only: the jump role is the engine's own.
// It returns nil for a connection with static keys.
func Hops(spec Spec, catalogName string, scope SessionScope) ([]Hop, error) {
	if !spec.AssumesRole() {
		return nil, nil
	}
	if _, err := ParseRoleARN(spec.RoleARN); err != nil {
		return nil, err
	}
	if spec.ExternalID == "" {
		// A role connection without an external ID would be the confused
		// deputy this library exists to prevent; the catalog always
		// generates one, so this is a caller building Specs by hand.
		return nil, fmt.Errorf("connection %q assumes a role but has no external ID", spec.Name)
	}
	session := spec.SessionName
	if session == "" {
		session = DefaultSessionName(catalogName, spec.ID)
	}
	if err := CheckSessionName(session); err != nil {
		return nil, err
	}
	if spec.Duration != 0 {
		if err := CheckAssumeRoleDuration(spec.Duration); err != nil {
			return nil, err
		}
	}
	customer := Hop{RoleARN: spec.RoleARN, SessionName: session, ExternalID: spec.ExternalID, Inputs: assumeRoleInputs(spec), Scope: scope}
	if spec.Principal == "" {
		return []Hop{customer}, nil
	}
	principal, err := ParsePrincipalARN(spec.Principal)
	if err != nil {
		return nil, err
	}
	if principal.Kind != "role" {
		return []Hop{customer}, nil
	}
	if err := CheckChainedDuration(spec.Duration); err != nil {
		return nil, err
	}
	jump := Hop{RoleARN: spec.Principal, SessionName: DefaultSessionName(catalogName, spec.ID)}
	return []Hop{jump, customer}, nil
}

// EngineHop is the spec for a hop into the engine's own principal (the
// jump role): the connection's region and endpoints are the tenant's
// choice, and a tenant's server must never receive a request signed with
// the engine's credentials, which it could replay at STS. That hop always
// goes where the engine's own configuration points.
func (s Spec) EngineHop() Spec {
	s.Region, s.Endpoint, s.STSEndpoint = "", "", ""
	return s
}
