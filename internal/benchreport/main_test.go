package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/conncat/conncat/catalog
cpu: Test CPU
BenchmarkCreateConnection/conns=1000-2   	    2000	     90000 ns/op	    6453 B/op	     127 allocs/op
BenchmarkCreateConnection/conns=1000-2   	    2000	     99000 ns/op	    6453 B/op	     127 allocs/op
BenchmarkCreateConnection/conns=1000-2   	    2000	    500000 ns/op	    6453 B/op	     127 allocs/op
BenchmarkRawInsert/conns=1000-2          	    2000	     30000 ns/op	     742 B/op	      25 allocs/op
BenchmarkRawInsert/conns=1000-2          	    2000	     32000 ns/op	     742 B/op	      25 allocs/op
pkg: github.com/conncat/conncat/awscreds
BenchmarkRefreshStampede/conncat/callers=10000-2   	20	  12353924 ns/op	         1.000 sts-calls/op
`

func TestReportUsesMediansAndJudgesTargets(t *testing.T) {
	s, env := parse(strings.NewReader(sample))
	if v, _ := s.median("catalog:CreateConnection/conns=1000", "ns/op"); v != 99000 {
		t.Fatalf("median %v, want 99000 (the outlier must not move it)", v)
	}
	if v, _ := s.median("catalog:RawInsert/conns=1000", "ns/op"); v != 31000 {
		t.Fatalf("even-count median %v, want 31000", v)
	}
	out := render(s, env)
	for _, want := range []string{
		"| CREATE CONNECTION committed, 1000 conns | 99.00 µs | 6453 | 127 | raw INSERT + commit: 31.00 µs | 3.19× | ≤ 3× raw: **missed** |",
		"| CREATE CONNECTION committed, 10000 conns | not run |",
		"| conncat | 1.00 | 12.35 ms | exactly 1: **met** |",
		"cpu: Test CPU",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	doc := "intro\n" + beginMarker + "\nold\n" + endMarker + "\nafter\n"
	got, err := replaceBlock(doc, "new\n")
	if err != nil || got != "intro\n"+beginMarker+"\nnew\n"+endMarker+"\nafter\n" {
		t.Fatalf("replaceBlock: %q %v", got, err)
	}
	if _, err := replaceBlock("no markers", "x"); err == nil {
		t.Fatal("a document without the block must be refused")
	}
}
