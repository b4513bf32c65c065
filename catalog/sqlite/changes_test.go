package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/testenv"
)

// TestWatchStartsByForgettingEverything: a change committed between Open
// and the watcher's first poll cannot be told from older history, so the
// first report says "everything"; later changes arrive by ID.
func TestWatchStartsByForgettingEverything(t *testing.T) {
	_, st := newStore(t)
	c, err := catalog.Open(context.Background(), st, catalog.Options{Keys: testKey})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, `CREATE CONNECTION before TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')`)
	type report struct {
		ids []string
		all bool
	}
	reports := make(chan report, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Watch(ctx, func(ids []string, all bool) { reports <- report{ids, all} })
	first := <-reports
	if !first.all {
		t.Fatalf("first report %v: want everything", first)
	}
	mustExec(t, c, `ALTER CONNECTION before SET (REGION = 'eu-west-1')`)
	select {
	case r := <-reports:
		if r.all || len(r.ids) != 1 || r.ids[0] != "u1" {
			t.Fatalf("report %+v: want [u1]", r)
		}
	case <-time.After(testenv.HangBound):
		t.Fatal("no report of the ALTER")
	}
}
