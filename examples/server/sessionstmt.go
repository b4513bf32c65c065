package main

import (
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/conncat/conncat"
)

// Session statements are PostgreSQL's statements about the session itself,
// which drivers and poolers send on their own: SET and SHOW of session
// parameters, and the reset a pooler runs before handing a connection to
// its next user (asyncpg: SELECT pg_advisory_unlock_all(); CLOSE ALL;
// UNLISTEN *; RESET ALL — pgbouncer and others: DISCARD ALL). The dialect
// has none of them; the server answers them as PostgreSQL does, in the
// simple and the extended protocol alike.

// sessionStatement is one such statement, recognised; run applies it and
// returns its result.
type sessionStatement struct {
	// columns and types describe its row, if it returns one.
	columns []string
	types   []pgType
	run     func(s *session) (*conncat.Result, error)
}

var (
	resetParam  = regexp.MustCompile(`(?is)^\s*RESET\s+(ALL|[a-z_]+)\s*;?\s*$`)
	showParam   = regexp.MustCompile(`(?is)^\s*SHOW\s+([a-z_]+)\s*;?\s*$`)
	discardAll  = regexp.MustCompile(`(?is)^\s*DISCARD\s+ALL\s*;?\s*$`)
	discardNone = regexp.MustCompile(`(?is)^\s*DISCARD\s+(PLANS|SEQUENCES|TEMP|TEMPORARY)\s*;?\s*$`)
	deallocate  = regexp.MustCompile(`(?is)^\s*DEALLOCATE\s+(?:PREPARE\s+)?("?)([^";\s]+)"?\s*;?\s*$`)
	closeCursor = regexp.MustCompile(`(?is)^\s*CLOSE\s+("?)([^";\s]+)"?\s*;?\s*$`)
	unlisten    = regexp.MustCompile(`(?is)^\s*UNLISTEN\s+(\*|[a-z_][a-z0-9_]*)\s*;?\s*$`)
	unlockAll   = regexp.MustCompile(`(?is)^\s*SELECT\s+pg_advisory_unlock_all\s*\(\s*\)\s*;?\s*$`)
	// sessionInfo is the one-function SELECTs drivers and ORMs send to
	// learn whom and what they talk to.
	sessionInfo  = regexp.MustCompile(`(?is)^\s*SELECT\s+(?:pg_catalog\.)?(version|current_user|session_user|current_schema|current_database)\s*(\(\s*\))?\s*;?\s*$`)
	typeVoid     = pgType{2278, 4}
	voidColumn   = []string{"pg_advisory_unlock_all"}
	reportedOnly = map[string]string{ // parameters SHOW answers though SET does not change them
		"server_version": "15.0 (conncat)", "server_encoding": "UTF8", "integer_datetimes": "on",
		"standard_conforming_strings": "on", "transaction_isolation": "read committed",
		"is_superuser": "off", "max_identifier_length": "255",
	}
	// defaults are what SHOW gives for a settable parameter never SET.
	defaults = map[string]string{"client_encoding": "UTF8", "datestyle": "ISO, MDY", "timezone": "UTC",
		"intervalstyle": "postgres", "search_path": `"$user", public`, "statement_timeout": "0",
		"extra_float_digits": "1", "application_name": ""}
)

// recognise reads text as a session statement, or reports false.
func recognise(text string) (*sessionStatement, bool) {
	if m := setParam.FindStringSubmatch(text); m != nil && settable[strings.ToLower(m[1])] {
		name, value := strings.ToLower(m[1]), m[2]
		return &sessionStatement{run: func(s *session) (*conncat.Result, error) { return s.set(name, value), nil }}, true
	}
	if m := resetParam.FindStringSubmatch(text); m != nil {
		name := strings.ToLower(m[1])
		if name != "all" && !settable[name] {
			return nil, false
		}
		return &sessionStatement{run: func(s *session) (*conncat.Result, error) { return s.reset(name), nil }}, true
	}
	if m := showParam.FindStringSubmatch(text); m != nil {
		name := strings.ToLower(m[1])
		if _, reported := reportedOnly[name]; !reported && !settable[name] {
			return nil, false // SHOW CONNECTIONS, SHOW SECRETS: the dialect's
		}
		return &sessionStatement{columns: []string{name}, types: []pgType{typeText},
			run: func(s *session) (*conncat.Result, error) {
				return &conncat.Result{Columns: []string{name}, Rows: [][]any{{s.show(name)}}, Tag: "SHOW"}, nil
			}}, true
	}
	return recogniseReset(text)
}

// recogniseReset reads the statements that reset a pooled session.
func recogniseReset(text string) (*sessionStatement, bool) {
	switch {
	case discardAll.MatchString(text):
		return &sessionStatement{run: func(s *session) (*conncat.Result, error) {
			if s.cs.InBlock() {
				// As PostgreSQL: a pooler's reset must not half-reset a
				// session that is still inside a block.
				return nil, &conncat.Error{Code: conncat.CodeActiveTransaction, Position: -1,
					Message: "DISCARD ALL cannot run inside a transaction block", Hint: "COMMIT or ROLLBACK first."}
			}
			clear(s.prepared)
			clear(s.portals)
			s.reset("all")
			return &conncat.Result{Tag: "DISCARD ALL"}, nil
		}}, true
	case discardNone.MatchString(text):
		// conncat caches no plans for a session, has no sequences and
		// keeps no temporary tables a session made: nothing to discard.
		what := strings.ToUpper(discardNone.FindStringSubmatch(text)[1])
		if what == "TEMPORARY" {
			what = "TEMP"
		}
		return &sessionStatement{run: func(*session) (*conncat.Result, error) { return &conncat.Result{Tag: "DISCARD " + what}, nil }}, true
	case unlisten.MatchString(text):
		return &sessionStatement{run: func(*session) (*conncat.Result, error) { return &conncat.Result{Tag: "UNLISTEN"}, nil }}, true
	case unlockAll.MatchString(text):
		return &sessionStatement{columns: voidColumn, types: []pgType{typeVoid},
			run: func(*session) (*conncat.Result, error) {
				// conncat takes no advisory locks for a session: none to release.
				return &conncat.Result{Columns: voidColumn, Rows: [][]any{{""}}, Tag: "SELECT 1"}, nil
			}}, true
	}
	if m := sessionInfo.FindStringSubmatch(text); m != nil {
		return recogniseInfo(strings.ToLower(m[1]), m[2] != "")
	}
	if m := deallocate.FindStringSubmatch(text); m != nil {
		quoted, name := m[1] != "", m[2]
		return &sessionStatement{run: func(s *session) (*conncat.Result, error) { return s.deallocate(name, quoted) }}, true
	}
	if m := closeCursor.FindStringSubmatch(text); m != nil {
		quoted, name := m[1] != "", m[2]
		return &sessionStatement{run: func(s *session) (*conncat.Result, error) { return s.closeCursor(name, quoted) }}, true
	}
	return nil, false
}

// recogniseInfo answers version(), current_user, session_user,
// current_schema and current_database() as PostgreSQL spells them: the
// user functions take no parentheses, version and current_database need
// them, current_schema takes either.
func recogniseInfo(name string, parens bool) (*sessionStatement, bool) {
	switch name {
	case "current_user", "session_user":
		if parens {
			return nil, false
		}
	case "version", "current_database":
		if !parens {
			return nil, false
		}
	}
	columns := []string{name}
	return &sessionStatement{columns: columns, types: []pgType{typeText},
		run: func(s *session) (*conncat.Result, error) {
			return &conncat.Result{Columns: columns, Rows: [][]any{{s.info(name)}}, Tag: "SELECT 1"}, nil
		}}, true
}

// info is the value of a sessionInfo function.
func (s *session) info(name string) string {
	switch name {
	case "version":
		// Drivers and ORMs read the major version from this text.
		return "PostgreSQL " + reportedOnly["server_version"] + ", conncat's wire server"
	case "current_schema":
		return "public" // unqualified names resolve there, as Materialize's do
	case "current_database":
		return s.database
	}
	return s.user
}

// set answers SET of a settable parameter: recorded, reported back where
// PostgreSQL reports it, without effect on conncat's fixed behaviour.
func (s *session) set(name, value string) *conncat.Result {
	s.params[name] = value
	if name == "application_name" {
		s.be.Send(&pgproto3.ParameterStatus{Name: "application_name", Value: value})
	}
	return &conncat.Result{Tag: "SET"}
}

// reset puts a parameter (or all) back to what the session started with.
func (s *session) reset(name string) *conncat.Result {
	if name == "all" {
		s.params = maps.Clone(s.initial)
	} else if v, ok := s.initial[name]; ok {
		s.params[name] = v
	} else {
		delete(s.params, name)
	}
	return &conncat.Result{Tag: "RESET"}
}

func (s *session) show(name string) string {
	if v, ok := s.params[name]; ok {
		return v
	}
	if v, ok := reportedOnly[name]; ok {
		return v
	}
	return defaults[name]
}

// deallocate closes a prepared statement by name, or all of them.
func (s *session) deallocate(name string, quoted bool) (*conncat.Result, error) {
	if !quoted && strings.EqualFold(name, "all") {
		clear(s.prepared)
		return &conncat.Result{Tag: "DEALLOCATE ALL"}, nil
	}
	if !quoted {
		name = strings.ToLower(name)
	}
	if _, ok := s.prepared[name]; !ok {
		return nil, &conncat.Error{Code: conncat.CodeInvalidStatementName, Position: -1,
			Message: fmt.Sprintf("prepared statement %q does not exist", name)}
	}
	delete(s.prepared, name)
	return &conncat.Result{Tag: "DEALLOCATE"}, nil
}

// closeCursor answers CLOSE: conncat has no cursors (DECLARE), so CLOSE
// ALL closes nothing and succeeds, and CLOSE of a name is 34000, as
// PostgreSQL says of a cursor that does not exist.
func (s *session) closeCursor(name string, quoted bool) (*conncat.Result, error) {
	if !quoted && strings.EqualFold(name, "all") {
		return &conncat.Result{Tag: "CLOSE CURSOR ALL"}, nil
	}
	return nil, &conncat.Error{Code: conncat.CodeInvalidCursorName, Position: -1, Message: fmt.Sprintf("cursor %q does not exist", name)}
}
