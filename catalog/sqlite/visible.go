package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/catalog"
)

// A query run for a role that is no superuser sees only the connections
// and secrets the role may use, and the rows that belong to them: TEMP
// views named as the stored tables shadow them on the query's connection
// (SQLite resolves an unqualified name in temp first, and the restored
// query names tables unqualified), and are dropped after it. The status
// table keeps only the rows of visible connections. One engine for both
// stores, so the rows a role sees are the same on each.

// visibleViews are each stored table's rows a role may see, given the
// visible connections (temp.mz_connections) and secrets.
var visibleViews = []struct{ table, where string }{
	{"mz_aws_connections", `id IN (SELECT id FROM temp.mz_connections)`},
	{"mz_s3_connections", `id IN (SELECT id FROM temp.mz_connections)`},
	{"mz_object_dependencies", `object_id IN (SELECT id FROM temp.mz_connections)`},
	{"mz_connection_validations", `connection_id IN (SELECT id FROM temp.mz_connections)`},
}

// restrict shadows conn's stored tables for role and returns the function
// that removes the views; a connection they cannot be removed from is
// discarded, never reused with them.
func restrict(ctx context.Context, conn *sql.Conn, role string) (func(), error) {
	if err := ensureMayUse(ctx, conn); err != nil {
		return nil, err
	}
	lit := "'" + escapeQuotes(role) + "'"
	usable := mayUseFunc + "(owner_id, privileges, " + lit + ")"
	stmts := []string{
		`CREATE TEMP VIEW mz_connections AS SELECT * FROM main.mz_connections WHERE ` + usable,
		`CREATE TEMP VIEW mz_secrets AS SELECT * FROM main.mz_secrets WHERE ` + usable,
	}
	for _, v := range visibleViews {
		stmts = append(stmts, `CREATE TEMP VIEW `+v.table+` AS SELECT * FROM main.`+v.table+` WHERE `+v.where)
	}
	stmts = append(stmts, `CREATE TEMP VIEW mz_audit_events AS SELECT * FROM main.mz_audit_events WHERE "user" = `+lit+
		` OR json_extract(details, '$.id') IN (SELECT id FROM temp.mz_connections UNION ALL SELECT id FROM temp.mz_secrets)`)
	drop := func() {
		for _, name := range []string{"mz_audit_events", "mz_connection_validations", "mz_object_dependencies", "mz_s3_connections", "mz_aws_connections", "mz_secrets", "mz_connections"} {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), `DROP VIEW IF EXISTS temp.`+name); err != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				return
			}
		}
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			drop()
			return nil, err
		}
	}
	return drop, nil
}

// mayUseFunc is the SQL function the views call: catalog.RoleMayUse, so
// a role's rows follow the same rule as every check (parsing the
// privileges list, never matching its text).
const mayUseFunc = "conncat_may_use"

// ensureMayUse registers mayUseFunc on conn unless it has it already.
func ensureMayUse(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT `+mayUseFunc+`(NULL, NULL, '')`); err == nil {
		return nil
	}
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("catalog database is not go-sqlite3 (%T)", dc)
		}
		return c.RegisterFunc(mayUseFunc, func(owner, privileges any, role string) bool {
			return catalog.RoleMayUse(role, owner, privileges)
		}, true)
	})
}

// hideStatuses keeps the status rows of connections the role may see.
func hideStatuses(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, `DELETE FROM temp.`+catalog.StatusTable+` WHERE id NOT IN (SELECT id FROM temp.mz_connections)`)
	return err
}

func escapeQuotes(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(out)
}
