package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/sqlparse"
)

// A query run for a role that is no superuser sees only the connections
// and secrets the role may use, and the rows that belong to them: TEMP
// views named as the stored tables shadow them on the query's connection
// (SQLite resolves an unqualified name in temp first, and the restored
// query names tables unqualified), and are dropped after it. The status
// table keeps only the rows of visible connections. One engine for both
// stores, so the rows a role sees are the same on each.

// visibleViews are the stored tables whose rows belong to a connection,
// and the column that names it: a row is visible when its connection is.
// Each is checked by a lookup of that one connection (EXISTS on the
// primary key), so a query that reads a few rows asks about a few.
var visibleViews = []struct{ table, column string }{
	{"mz_aws_connections", "id"},
	{"mz_s3_connections", "id"},
	{"mz_object_dependencies", "object_id"},
	{"mz_connection_validations", "connection_id"},
}

// restrict shadows, on conn, the stored tables q reads with views of the
// rows role may see, and returns the function that removes them; a
// connection they cannot be removed from is discarded, never reused with
// them. Only the tables the query names get a view: each view costs a
// schema change of the connection.
func restrict(ctx context.Context, conn *sql.Conn, role string, q *sqlparse.Query) (func(), error) {
	if err := ensureMayUse(ctx, conn); err != nil {
		return nil, err
	}
	views := restrictedViews(role)
	var made []string
	drop := func() {
		for _, name := range made {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), `DROP VIEW IF EXISTS temp.`+name); err != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				return
			}
		}
	}
	for _, t := range q.Tables() {
		def, ok := views[t.Name]
		if !ok || slices.Contains(made, t.Name) {
			continue
		}
		if _, err := conn.ExecContext(ctx, `CREATE TEMP VIEW `+t.Name+` AS `+def); err != nil {
			drop()
			return nil, err
		}
		made = append(made, t.Name)
	}
	return drop, nil
}

// restrictedViews are the definitions of the views of role's rows, by
// table: connections and secrets it may use, and rows that belong to a
// connection it may use (each asked by one primary-key lookup, so a
// query that reads a few rows asks about a few).
func restrictedViews(role string) map[string]string {
	lit := "'" + strings.ReplaceAll(role, "'", "''") + "'"
	usable := func(table, id string) string {
		return `EXISTS (SELECT 1 FROM main.` + table + ` o WHERE o.id = ` + id + ` AND ` + mayUseFunc + `(o.owner_id, o.privileges, ` + lit + `))`
	}
	views := map[string]string{
		"mz_connections": `SELECT * FROM main.mz_connections t WHERE ` + mayUseFunc + `(t.owner_id, t.privileges, ` + lit + `)`,
		"mz_secrets":     `SELECT * FROM main.mz_secrets t WHERE ` + mayUseFunc + `(t.owner_id, t.privileges, ` + lit + `)`,
		"mz_audit_events": `SELECT * FROM main.mz_audit_events t WHERE t."user" = ` + lit +
			` OR ` + usable("mz_connections", `json_extract(t.details, '$.id')`) + ` OR ` + usable("mz_secrets", `json_extract(t.details, '$.id')`),
	}
	for _, v := range visibleViews {
		views[v.table] = `SELECT * FROM main.` + v.table + ` t WHERE ` + usable("mz_connections", "t."+v.column)
	}
	// The status table is TEMP, filled per query: hideStatuses filters it.
	return views
}

// hideStatuses keeps the status rows of connections role may see.
func hideStatuses(ctx context.Context, conn *sql.Conn, role string) error {
	lit := "'" + strings.ReplaceAll(role, "'", "''") + "'"
	_, err := conn.ExecContext(ctx, `DELETE FROM temp.`+catalog.StatusTable+` WHERE NOT EXISTS (SELECT 1 FROM main.mz_connections o WHERE o.id = `+
		catalog.StatusTable+`.id AND `+mayUseFunc+`(o.owner_id, o.privileges, `+lit+`))`)
	return err
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
