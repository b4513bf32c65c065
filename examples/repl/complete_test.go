package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/conncat/conncat"
)

// TestCompletionByContext: Tab offers first the objects the grammar
// expects where the cursor is.
func TestCompletionByContext(t *testing.T) {
	ctx := context.Background()
	cat, err := conncat.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if _, err := cat.Exec(ctx, `CREATE SECRET skey AS 'fake'; CREATE SECRET sid AS 'fake';
		CREATE CONNECTION s3demo_aws TO AWS (ACCESS KEY ID = SECRET sid, SECRET ACCESS KEY = SECRET skey);
		CREATE CONNECTION s3demo TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION s3demo_aws`); err != nil {
		t.Fatal(err)
	}
	s := &session{cat: cat}
	for _, tc := range []struct {
		text  string
		first string // the first candidate offered
		count int
	}{
		{"VALIDATE CONNECTION ", "s3demo", 2},
		{"SHOW TRUST POLICY FOR CONNECTION s", "s3demo", 0},
		{"DROP CONNECTION IF EXISTS ", "s3demo", 2},
		{"ALTER CONNECTION s3demo_aws SET (SECRET ACCESS KEY = SECRET ", "sid", 2},
		{"DROP SECRET s", "sid", 0},
		{"VALIDATE CONN", "CONNECTION", 0},
		{"validate conn", "connection", 0},
		{"CREATE CONNECTION ", "", 0},
	} {
		_, got, _ := s.complete(ctx, tc.text, len(tc.text))
		first := ""
		if len(got) > 0 {
			first = got[0]
		}
		if first != tc.first || tc.count > 0 && len(got) != tc.count {
			t.Errorf("complete(%q) = %v, want %q first (%d in all)", tc.text, got, tc.first, tc.count)
		}
	}
}
