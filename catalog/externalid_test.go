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
func TestExternalIDs(t *testing.T) {
	c, _ := newCatalog(t, catalog.Options{ExternalIDPrefix: "acme-"})
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
