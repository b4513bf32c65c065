package catalog_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/conncat/conncat/catalog"
)

// TestExternalIDs: every role connection gets its own external ID, the
// configured prefix then a version 7 UUID, so IDs made later sort later
// (inserts land at the end of the external_id index).
func TestExternalIDs(t *testing.T) { forEachBackend(t, testExternalIDs) }

func testExternalIDs(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{ExternalIDPrefix: "acme-"})
	mustExec(t, c, `
		CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A');
		CREATE CONNECTION b TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/B');
		CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/C')`)
	res := mustExec(t, c, `SELECT external_id FROM mz_aws_connections ORDER BY id`)[0]
	var previous string
	for _, row := range res.Rows {
		id, _ := row[0].(string)
		rest, ok := strings.CutPrefix(id, "acme-")
		if !ok {
			t.Fatalf("external ID %q lacks the prefix", id)
		}
		u, err := uuid.Parse(rest)
		if err != nil || u.Version() != 7 {
			t.Fatalf("external ID %q: not a version 7 UUID (%v)", id, err)
		}
		if id <= previous {
			t.Fatalf("external IDs not increasing: %q then %q", previous, id)
		}
		previous = id
	}
}

// TestExternalIDOutlivesStaticKeys: the customer pasted a trust policy that
// names the external ID; switching the connection to static keys and back
// to a role must not change it (DROP and CREATE does: a new object).
func TestExternalIDOutlivesStaticKeys(t *testing.T) {
	forEachBackend(t, testExternalIDOutlivesStaticKeys)
}

func testExternalIDOutlivesStaticKeys(t *testing.T, backend string) {
	c := newCatalogOn(t, backend, catalog.Options{})
	mustExec(t, c, `CREATE SECRET sk AS 'fake-secret-key';
		CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A')`)
	externalID := func() any {
		return mustExec(t, c, `SELECT external_id FROM mz_aws_connections`)[0].Rows[0][0]
	}
	first := externalID()
	if first == nil {
		t.Fatal("a role connection has no external ID")
	}
	mustExec(t, c, `ALTER CONNECTION a SET (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk), DROP (ASSUME ROLE ARN)`)
	if got := externalID(); got != nil {
		t.Fatalf("a connection with static keys shows external ID %v; Materialize shows NULL", got)
	}
	mustExec(t, c, `ALTER CONNECTION a SET (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/B'), DROP (ACCESS KEY ID, SECRET ACCESS KEY)`)
	if got := externalID(); got != first {
		t.Fatalf("back on a role, external ID %v; the pasted trust policy names %v", got, first)
	}
	// Again: the ID was kept at the first switch, and stays the one kept.
	mustExec(t, c, `ALTER CONNECTION a SET (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk), DROP (ASSUME ROLE ARN)`)
	mustExec(t, c, `ALTER CONNECTION a SET (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A'), DROP (ACCESS KEY ID, SECRET ACCESS KEY)`)
	if got := externalID(); got != first {
		t.Fatalf("after a second switch, external ID %v; the pasted trust policy names %v", got, first)
	}
	mustExec(t, c, `DROP CONNECTION a; CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A')`)
	if got := externalID(); got == first {
		t.Fatal("a new connection reused a dropped connection's external ID")
	}
	// A connection made with static keys gets its ID when it first
	// assumes a role, and keeps that one.
	mustExec(t, c, `DROP CONNECTION a; CREATE CONNECTION a TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk)`)
	mustExec(t, c, `ALTER CONNECTION a SET (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A'), DROP (ACCESS KEY ID, SECRET ACCESS KEY)`)
	given := externalID()
	mustExec(t, c, `ALTER CONNECTION a SET (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk), DROP (ASSUME ROLE ARN)`)
	mustExec(t, c, `ALTER CONNECTION a SET (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A'), DROP (ACCESS KEY ID, SECRET ACCESS KEY)`)
	if got := externalID(); given == nil || got != given {
		t.Fatalf("a connection first given external ID %v has %v after a switch", given, got)
	}
}
