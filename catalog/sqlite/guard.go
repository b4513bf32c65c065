package sqlite

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// sqliteRecursive is SQLITE_RECURSIVE (a WITH RECURSIVE query), which
// go-sqlite3 does not export.
const sqliteRecursive = 33

// readGuard is the SQLite authorizer installed while a gated SELECT is
// compiled: the database's own check, behind sqlparse's gate, that a query
// does nothing but read catalog tables and call allowed functions. It sees
// what SQLite actually compiles, so it also catches a gate that misjudged
// what TiDB's restored text means to SQLite. The gate gives the better
// message; the guard should never fire (FuzzQueryGuard hunts for inputs
// that make it).
type readGuard struct {
	// ctes are the query's CTE names.
	ctes []string
	// refused is the first action the guard denied, for the error.
	refused string
	// restricted: the stored tables are shadowed by TEMP views of what a
	// role may see (visible.go), which read each other there.
	restricted bool
}

// guardMessage starts every error the guard causes, so tests can tell a
// guard refusal from the gate's.
const guardMessage = "permission denied: the query tried to "

func (g *readGuard) authorize(op int, arg1, arg2, dbName string) int {
	switch op {
	case sqlite3.SQLITE_SELECT, sqliteRecursive:
		return sqlite3.SQLITE_OK
	case sqlite3.SQLITE_READ:
		if catalog.IsTable(arg1) && arg1 != catalog.StatusTable && (dbName == "main" || dbName == "" || g.restricted && dbName == "temp") {
			return sqlite3.SQLITE_OK
		}
		// The status table is TEMP (statuses.go); SQLite names no
		// database for a read no column of which is used.
		if arg1 == catalog.StatusTable && (dbName == "temp" || dbName == "") {
			return sqlite3.SQLITE_OK
		}
		// A table or CTE from which no column is read (count(*), EXISTS)
		// is reported with an empty column, and unqualified names come
		// with no database, so a CTE looks like a table here: only the
		// query's own CTE names pass.
		// A reserved name (sqlite_*, conncat_*) never passes: the gate
		// refuses CTEs named so, so such a read is of the real table.
		if name := strings.ToLower(arg1); arg2 == "" && dbName == "" && slices.Contains(g.ctes, name) && !sqlparse.ReservedName(name) {
			return sqlite3.SQLITE_OK
		}
		if dbName != "" {
			arg1 = dbName + "." + arg1
		}
		return g.deny("read " + arg1)
	case sqlite3.SQLITE_FUNCTION:
		// LIKE compiles to SQLite's like() function; the views of a
		// restricted query call mayUseFunc.
		if sqlparse.QueryFunction(arg2) || arg2 == "like" || g.restricted && arg2 == mayUseFunc {
			return sqlite3.SQLITE_OK
		}
		return g.deny(fmt.Sprintf("call %s()", arg2))
	}
	return g.deny(fmt.Sprintf("perform SQLite action %d (%s)", op, strings.Join([]string{arg1, arg2, dbName}, ", ")))
}

func (g *readGuard) deny(action string) int {
	if g.refused == "" {
		g.refused = action
	}
	return sqlite3.SQLITE_DENY
}

// err turns a denial into the error the caller sees.
func (g *readGuard) err(q *sqlparse.Query) *sqlerror.Error {
	e := &sqlerror.Error{Code: sqlstate.InsufficientPrivilege, Position: q.Pos(), Message: guardMessage + g.refused}
	e.Detail = "SQLite's authorizer refused a query that conncat's query gate let through; this is a bug worth reporting with the query."
	e.Hint = "Catalog queries may only read the catalog tables (" + strings.Join(catalog.Tables(), ", ") + ")."
	return e
}

// guard installs the authorizer on conn and returns the function that
// removes it. Installing or removing an authorizer expires the statements
// SQLite has prepared on that connection, so the next catalog statement on
// it compiles again: a cost paid once per SELECT, which is not a hot path.
func guard(conn *sql.Conn, ctes []string, restricted bool) (*readGuard, func(), error) {
	g := &readGuard{ctes: ctes, restricted: restricted}
	set := func(fn func(int, string, string, string) int) error {
		return conn.Raw(func(driverConn any) error {
			c, ok := driverConn.(*sqlite3.SQLiteConn)
			if !ok {
				return fmt.Errorf("catalog database is not go-sqlite3 (%T)", driverConn)
			}
			c.RegisterAuthorizer(fn)
			return nil
		})
	}
	if err := set(g.authorize); err != nil {
		return nil, nil, err
	}
	restoreLength := setLengthLimit(conn, MaxQueryValueLen)
	// The connection goes back to the pool afterwards; with the authorizer
	// left on it would refuse the catalog's own statements. Removal cannot
	// fail on an open connection, and a closed one is not reused.
	return g, func() { _ = set(nil); restoreLength() }, nil
}

// MaxQueryValueLen bounds every string or blob a catalog query computes
// (SQLite's SQLITE_LIMIT_LENGTH, set on the connection while the query
// runs): a string that doubles itself in a recursive CTE, or nested
// replace(), stops there with 54000 instead of taking gigabytes. No
// catalog value comes near it.
const MaxQueryValueLen = 8 << 20

// setLengthLimit sets conn's SQLITE_LIMIT_LENGTH and returns the function
// that puts the previous limit back.
func setLengthLimit(conn *sql.Conn, limit int) func() {
	previous := -1
	_ = conn.Raw(func(driverConn any) error {
		if c, ok := driverConn.(*sqlite3.SQLiteConn); ok {
			previous = c.SetLimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)
		}
		return nil
	})
	return func() {
		if previous < 0 {
			return
		}
		_ = conn.Raw(func(driverConn any) error {
			driverConn.(*sqlite3.SQLiteConn).SetLimit(sqlite3.SQLITE_LIMIT_LENGTH, previous)
			return nil
		})
	}
}
