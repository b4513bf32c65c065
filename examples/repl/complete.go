package main

import (
	"context"
	"strings"
)

// complete is tab completion: the word under the cursor, completed with
// the names the grammar expects there first (a connection after VALIDATE
// CONNECTION or FOR CONNECTION, a secret after SECRET ACCESS KEY =
// SECRET), then the dialect's keywords and every object name.
func (s *session) complete(ctx context.Context, text string, pos int) (string, []string, string) {
	start := strings.LastIndexAny(text[:pos], " \t\n(,;=") + 1
	word := text[start:pos]
	statement := text[strings.LastIndexByte(text[:start], ';')+1 : start]
	var candidates []string
	switch expectedObject(statement) {
	case "connection":
		candidates = s.names(ctx, "SELECT name FROM mz_connections ORDER BY name")
	case "secret":
		candidates = s.names(ctx, "SELECT name FROM mz_secrets ORDER BY name")
	}
	if word == "" {
		return text[:start], candidates, text[pos:]
	}
	candidates = append(candidates, completionWords...)
	candidates = append(candidates, s.names(ctx, "SELECT name FROM mz_connections UNION SELECT name FROM mz_secrets")...)
	var out []string
	seen := map[string]bool{}
	for _, w := range candidates {
		if !strings.HasPrefix(strings.ToLower(w), strings.ToLower(word)) || seen[w] {
			continue
		}
		seen[w] = true
		// Keywords follow the case being typed; names keep their own.
		if strings.ToUpper(w) == w && strings.ToUpper(word) != word {
			w = strings.ToLower(w)
		}
		out = append(out, w)
	}
	return text[:start], out, text[pos:]
}

// expectedObject says which kind of existing object the grammar expects
// after statement (the text of the statement before the word being
// completed): "connection", "secret" or "".
func expectedObject(statement string) string {
	words := strings.FieldsFunc(strings.ToUpper(statement), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '(' || r == ',' || r == '='
	})
	// IF [NOT] EXISTS sits between a kind and its name.
	for len(words) > 0 && (words[len(words)-1] == "IF" || words[len(words)-1] == "NOT" || words[len(words)-1] == "EXISTS") {
		words = words[:len(words)-1]
	}
	if len(words) == 0 {
		return ""
	}
	last, before := words[len(words)-1], ""
	if len(words) > 1 {
		before = words[len(words)-2]
	}
	switch {
	case last == "CONNECTION" && before != "CREATE":
		return "connection" // VALIDATE, SHOW CREATE, FOR, DROP, ALTER, USING AWS
	case last == "SECRET" && (before == "DROP" || before == "ALTER"):
		return "secret"
	case last == "SECRET" && (before == "KEY" || before == "ID" || before == "TOKEN"):
		return "secret" // ACCESS KEY ID = SECRET, SECRET ACCESS KEY = SECRET, SESSION TOKEN = SECRET
	}
	return ""
}

// names runs a catalog query whose first column is a name.
func (s *session) names(ctx context.Context, query string) []string {
	res, err := s.cat.Exec(ctx, query)
	if err != nil || len(res) == 0 {
		return nil
	}
	var names []string
	for _, row := range res[0].Rows {
		if n, ok := row[0].(string); ok {
			names = append(names, n)
		}
	}
	return names
}
