package sqlparse

import (
	"strings"

	"github.com/conncat/conncat/connection"
)

// nearestOption returns the allowed option closest to what was written, if
// one is close enough to be a likely typo.
func nearestOption(written string, allowed []connection.Option) connection.Option {
	// Words left out of a name ("ROLE ARN" for ASSUME ROLE ARN) are a
	// likelier mistake than a typo into another option.
	for _, o := range allowed {
		if strings.HasSuffix(string(o), " "+written) || strings.HasPrefix(string(o), written+" ") {
			return o
		}
	}
	names := make([]string, len(allowed))
	for i, o := range allowed {
		names[i] = string(o)
	}
	return connection.Option(Nearest(written, names))
}

// Nearest returns the candidate closest to what was written, if one is
// close enough to be a likely typo, or "". For "did you mean" hints.
func Nearest(written string, candidates []string) string {
	best, bestDist := "", len(written)/2+2
	for _, c := range candidates {
		if d := editDistance(written, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
