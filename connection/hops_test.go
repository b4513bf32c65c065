package connection

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	customerRole  = "arn:aws:iam::123456789012:role/CustomerWriter"
	principalRole = "arn:aws:iam::210987654321:role/conncat-jump"
	principalUser = "arn:aws:iam::210987654321:user/conncat-engine"
	testExternal  = "acme-00000000-0000-4000-8000-000000000001"
)

func roleSpec(principal string) Spec {
	return Spec{ID: "u7", Name: "aws_conn", RoleARN: customerRole, ExternalID: testExternal, Principal: principal, Region: "us-east-1"}
}

func TestHops(t *testing.T) {
	t.Run("no principal: one hop with the external ID", func(t *testing.T) {
		hops, err := Hops(roleSpec(""), "prod", SessionScope{})
		if err != nil {
			t.Fatal(err)
		}
		want := []Hop{{RoleARN: customerRole, SessionName: "conncat-prod-u7", ExternalID: testExternal}}
		if fmt.Sprint(hops) != fmt.Sprint(want) {
			t.Fatalf("got %+v, want %+v", hops, want)
		}
	})
	t.Run("user principal: one hop", func(t *testing.T) {
		hops, err := Hops(roleSpec(principalUser), "prod", SessionScope{})
		if err != nil {
			t.Fatal(err)
		}
		if len(hops) != 1 || hops[0].RoleARN != customerRole || hops[0].ExternalID != testExternal {
			t.Fatalf("got %+v", hops)
		}
	})
	t.Run("role principal: jump without external ID, then customer with it", func(t *testing.T) {
		spec := roleSpec(principalRole)
		spec.SessionName = "nightly-export"
		spec.Duration = 30 * time.Minute
		hops, err := Hops(spec, "prod", SessionScope{})
		if err != nil {
			t.Fatal(err)
		}
		want := []Hop{
			{RoleARN: principalRole, SessionName: "conncat-prod-u7"},
			{RoleARN: customerRole, SessionName: "nightly-export", ExternalID: testExternal, Inputs: map[string]string{"DurationSeconds": "1800"}},
		}
		if fmt.Sprint(hops) != fmt.Sprint(want) {
			t.Fatalf("got %+v, want %+v", hops, want)
		}
	})
	t.Run("the scope goes on the customer hop only", func(t *testing.T) {
		scope := SessionScope{Policy: `{"Version":"2012-10-17"}`, SourceIdentity: "alice", Tags: []Tag{{"conncat:role", "alice"}}}
		hops, err := Hops(roleSpec(principalRole), "prod", scope)
		if err != nil {
			t.Fatal(err)
		}
		if len(hops) != 2 || !hops[0].Scope.IsZero() || fmt.Sprint(hops[1].Scope) != fmt.Sprint(scope) {
			t.Fatalf("got %+v", hops)
		}
	})
	t.Run("chained duration over an hour is refused", func(t *testing.T) {
		spec := roleSpec(principalRole)
		spec.Duration = 2 * time.Hour
		_, err := Hops(spec, "prod", SessionScope{})
		if err == nil || !strings.Contains(err.Error(), "3600-second limit") {
			t.Fatalf("got %v", err)
		}
		spec.Principal = principalUser // one hop: two hours are fine
		if _, err := Hops(spec, "prod", SessionScope{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a role without an external ID is refused", func(t *testing.T) {
		spec := roleSpec("")
		spec.ExternalID = ""
		if _, err := Hops(spec, "prod", SessionScope{}); err == nil {
			t.Fatal("expected an error")
		}
	})
	t.Run("static keys have no hops", func(t *testing.T) {
		hops, err := Hops(Spec{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "x"}, "prod", SessionScope{})
		if err != nil || hops != nil {
			t.Fatalf("got %v, %v", hops, err)
		}
	})
}

func TestDefaultSessionName(t *testing.T) {
	for _, tc := range []struct{ catalog, id, want string }{
		{"prod", "u12", "conncat-prod-u12"},
		{"", "u3", "conncat-u3"},
		{"my catalog/v2", "u3", "conncat-my-catalog-v2-u3"},
		{strings.Repeat("x", 80), "u123", "conncat-" + strings.Repeat("x", 64-len("conncat--u123")) + "-u123"},
	} {
		got := DefaultSessionName(tc.catalog, tc.id)
		if got != tc.want {
			t.Errorf("DefaultSessionName(%q, %q) = %q, want %q", tc.catalog, tc.id, got, tc.want)
		}
		if err := CheckSessionName(got); err != nil {
			t.Errorf("%q is not a valid session name: %v", got, err)
		}
	}
}
