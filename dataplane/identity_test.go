package dataplane

import (
	"regexp"
	"strings"
	"testing"

	"github.com/conncat/conncat/connection"
)

// sourceIdentityShape is what STS accepts as a SourceIdentity.
var sourceIdentityShape = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// tagValueShape is what STS accepts as a session tag's value.
var tagValueShape = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)

// Any engine role name becomes a SourceIdentity and a tag value AWS takes.
func TestRoleNamesBecomeWhatAWSAccepts(t *testing.T) {
	for _, role := range []string{"alice", "a", "", "aws:admin", "tenant/ü-ber", "x\x00y", strings.Repeat("r", 300), "team a; DROP", "👩‍💻"} {
		if id := sessionIdentity(role); !sourceIdentityShape.MatchString(id) || strings.HasPrefix(strings.ToLower(id), "aws:") {
			t.Errorf("role %q: SourceIdentity %q is not one STS accepts", role, id)
		}
		if v := tagValue(role); !tagValueShape.MatchString(v) {
			t.Errorf("role %q: tag value %q is not one STS accepts", role, v)
		}
	}
}

// A plane with session identity says, for each provider, who asked; the
// tags name the catalog, the connection and the role.
func TestSessionTagsNameWhoAsked(t *testing.T) {
	d := &Plane{catalogName: "prod eu", identity: "engine"}
	if got := d.identityRole("", false); got != "engine" {
		t.Errorf("no role in the context: %q, want the fallback", got)
	}
	if got := d.identityRole("alice", true); got != "alice" {
		t.Errorf("role alice: %q", got)
	}
	tags := d.sessionTags(providerKey{aws: "u1", s3: "u2", role: "alice"})
	want := []connection.Tag{{Key: "conncat:catalog", Value: "prod eu"}, {Key: "conncat:connection", Value: "u2"}, {Key: "conncat:role", Value: "alice"}}
	if len(tags) != len(want) {
		t.Fatalf("tags %v, want %v", tags, want)
	}
	for i := range want {
		if tags[i] != want[i] {
			t.Errorf("tag %d: %v, want %v", i, tags[i], want[i])
		}
	}
	if got := (&Plane{}).identityRole("alice", true); got != "" {
		t.Errorf("session identity off: %q, want none (one provider per connection)", got)
	}
}
