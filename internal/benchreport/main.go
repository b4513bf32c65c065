// Command benchreport turns `go test -bench` output into the generated
// part of BENCHMARKS.md: medians of every run, each figure beside the
// alternative measured in the same run, the ratio, and the target
// with a verdict. `make bench` runs it; the prose around the generated
// block (why a figure is what it is, next steps) is written by hand.
//
//	go run ./internal/benchreport -in bench.out -out BENCHMARKS.md
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const (
	beginMarker = "<!-- benchreport:begin -->"
	endMarker   = "<!-- benchreport:end -->"
)

func main() {
	in := flag.String("in", "bench.out", "go test -bench output")
	out := flag.String("out", "BENCHMARKS.md", "markdown file whose generated block is replaced")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		fail(err)
	}
	results, env := parse(f)
	f.Close()
	doc, err := os.ReadFile(*out)
	if err != nil {
		fail(err)
	}
	updated, err := replaceBlock(string(doc), render(results, env))
	if err != nil {
		fail(fmt.Errorf("%s: %w", *out, err))
	}
	if err := os.WriteFile(*out, []byte(updated), 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchreport:", err)
	os.Exit(1)
}

// samples holds every run's value of each unit, by benchmark key
// ("catalog:CreateConnection/conns=1000").
type samples map[string]map[string][]float64

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse reads benchmark lines, remembering the package each came from
// and the machine lines (goos, goarch, cpu).
func parse(r io.Reader) (samples, []string) {
	res := samples{}
	var env []string
	seenEnv := map[string]bool{}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
			pkg = pkg[strings.LastIndex(pkg, "/")+1:]
			continue
		case strings.HasPrefix(line, "goos: "), strings.HasPrefix(line, "goarch: "), strings.HasPrefix(line, "cpu: "):
			if !seenEnv[line] {
				seenEnv[line] = true
				env = append(env, line)
			}
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := pkg + ":" + m[1]
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			if res[key] == nil {
				res[key] = map[string][]float64{}
			}
			res[key][fields[i+1]] = append(res[key][fields[i+1]], v)
		}
	}
	return res, env
}

// median of one unit of one benchmark; ok is false when it was not run.
func (s samples) median(key, unit string) (float64, bool) {
	vs := append([]float64(nil), s[key][unit]...)
	if len(vs) == 0 {
		return 0, false
	}
	sort.Float64s(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2], true
	}
	return (vs[n/2-1] + vs[n/2]) / 2, true
}

func (s samples) runs(key string) int { return len(s[key]["ns/op"]) }

func replaceBlock(doc, block string) (string, error) {
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %s … %s block to replace", beginMarker, endMarker)
	}
	return doc[:i+len(beginMarker)] + "\n" + block + doc[j:], nil
}

// duration formats nanoseconds the way a reader compares them.
func duration(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.1f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
	return fmt.Sprintf("%.2f s", ns/1e9)
}

func integer(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
