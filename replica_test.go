package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

// TestSelectSeesEveryCommittedDDL: the freshness contract. Whatever DDL
// one node committed before another node's SELECT, SHOW or Describe began
// is in its answer, every time: no waiting on the change feed, no retry.
// Node B only reads, so nothing of its own makes its replica catch up.
func TestSelectSeesEveryCommittedDDL(t *testing.T) {
	p := newPlace(t, "postgres")
	nodeA, nodeB := p.open(t), p.open(t)
	ctx := context.Background()
	for i := range 40 {
		name := fmt.Sprintf("c_%d", i)
		mustExec(t, nodeA, "CREATE CONNECTION "+name+" TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
		res, err := nodeB.Exec(ctx, "SELECT count(*) FROM mz_connections WHERE name = $1", name)
		if err != nil || res[0].Rows[0][0] != int64(1) {
			t.Fatalf("node B's SELECT right after node A created %s: %v %v", name, rowsOf(res), err)
		}
		if d, err := nodeB.Describe(ctx, name); err != nil || d.Name != name {
			t.Fatalf("node B's Describe right after node A created %s: %v", name, err)
		}
		mustExec(t, nodeA, "ALTER CONNECTION "+name+" SET (REGION = 'eu-west-1')")
		res = mustExec(t, nodeB, "SELECT region FROM mz_aws_connections a JOIN mz_connections c USING (id) WHERE c.name = '"+name+"'; SHOW CONNECTIONS")
		if res[0].Rows[0][0] != "eu-west-1" || len(res[1].Rows) != 1 {
			t.Fatalf("node B after node A's ALTER of %s: %v, SHOW: %v", name, res[0].Rows, res[1].Rows)
		}
		mustExec(t, nodeA, "DROP CONNECTION "+name)
		if res := mustExec(t, nodeB, "SHOW CONNECTIONS"); len(res[0].Rows) != 0 {
			t.Fatalf("node B after node A dropped %s: %v", name, res[0].Rows)
		}
	}
}

func rowsOf(res []*conncat.Result) any {
	if len(res) == 0 {
		return nil
	}
	return res[0].Rows
}

// TestSelectDuringOutage: with PostgreSQL unreachable a SELECT fails with
// 08006 rather than answer from a replica that may be stale; a node opened
// WithStaleReads answers from its replica instead, with everything it
// heard of before the outage and its own DDL.
func TestSelectDuringOutage(t *testing.T) {
	cluster, err := testenv.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	ctx := context.Background()
	key := filepath.Join(t.TempDir(), "k")
	open := func(opts ...conncat.Option) *conncat.Catalog {
		opts = append(opts, conncat.WithSchema("outage"), conncat.WithKeyFile(key))
		cat, err := conncat.Open(ctx, cluster.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cat.Close() })
		return cat
	}
	strict := open()
	mustExec(t, strict, "CREATE CONNECTION before_stale TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
	stale := open(conncat.WithStaleReads())
	mustExec(t, stale, "CREATE CONNECTION own TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
	if res := mustExec(t, stale, "SELECT count(*) FROM mz_connections WHERE name = 'own'"); res[0].Rows[0][0] != int64(1) {
		t.Fatalf("a stale-reads node does not see its own DDL at once: %v", res[0].Rows)
	}
	mustExec(t, strict, "CREATE CONNECTION heard TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')")
	testenv.Eventually(t, "the stale-reads node hears of the other node's DDL", func() bool {
		res, err := stale.Exec(ctx, "SELECT count(*) FROM mz_connections WHERE name = 'heard'")
		return err == nil && res[0].Rows[0][0] == int64(1)
	})

	cluster.Stop()
	_, err = strict.Exec(ctx, "SELECT count(*) FROM mz_connections")
	var e *conncat.Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.Code, "08") {
		t.Fatalf("a SELECT with PostgreSQL down: %v, want 08xxx", err)
	}
	res, err := stale.Exec(ctx, "SELECT name FROM mz_connections ORDER BY name")
	if err != nil || fmt.Sprint(res[0].Rows) != "[[before_stale] [heard] [own]]" {
		t.Fatalf("a stale-reads SELECT with PostgreSQL down: %v %v", rowsOf(res), err)
	}
	if _, err := stale.Describe(ctx, "heard"); err != nil {
		t.Fatalf("a stale-reads Describe with PostgreSQL down: %v", err)
	}
}
