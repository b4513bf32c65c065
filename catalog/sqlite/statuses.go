package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/sqlparse"
)

// statusTableDDL is catalog.StatusTable as a TEMP table: its rows are this
// process's own state (the health of the credentials it holds), so each
// query connection has its own copy, filled just before a query that
// reads it. Unqualified names find TEMP tables first, so a query names it
// as it names every other catalog table. Declared types give its columns
// the same affinities as the stored tables' (text compares as text).
var statusTableDDL = `CREATE TEMP TABLE IF NOT EXISTS ` + catalog.StatusTable + ` (
	id                    TEXT NOT NULL,
	status                TEXT NOT NULL,
	last_status_change_at TEXT,
	credentials_expire_at TEXT,
	last_refresh_at       TEXT,
	last_error            TEXT,
	sts_calls             INTEGER NOT NULL,
	packed_policy_size    INTEGER,
	role                  TEXT
)`

// readsStatuses reports whether q reads catalog.StatusTable.
func readsStatuses(q *sqlparse.Query) bool {
	return slices.ContainsFunc(q.Tables(), func(t sqlparse.TableRef) bool { return t.Name == catalog.StatusTable })
}

// fillStatuses puts the process's status rows into conn's TEMP table,
// replacing what an earlier query on the connection left there.
func fillStatuses(ctx context.Context, conn *sql.Conn, statuses func() [][]any) error {
	var rows [][]any
	if statuses != nil {
		rows = statuses()
	}
	if _, err := conn.ExecContext(ctx, statusTableDDL+`; DELETE FROM temp.`+catalog.StatusTable); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(catalog.StatusColumns)), ", ")
	// BEGIN DEFERRED, not BeginTx: a handle opened with _txlock=immediate
	// would take the file's write lock for what only writes TEMP. Inside a
	// transaction already (a block's query) the rows join it.
	if inTransaction(conn) {
		return insertStatuses(ctx, conn, rows, placeholders)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	if err := insertStatuses(ctx, conn, rows, placeholders); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return err
	}
	committed = true
	return nil
}

func insertStatuses(ctx context.Context, conn *sql.Conn, rows [][]any, placeholders string) error {
	insert := `INSERT INTO temp.` + catalog.StatusTable + ` VALUES (` + placeholders + `)`
	for _, row := range rows {
		if _, err := conn.ExecContext(ctx, insert, row...); err != nil {
			return err
		}
	}
	return nil
}

// inTransaction reports whether conn is inside a transaction.
func inTransaction(conn *sql.Conn) bool {
	open := false
	_ = conn.Raw(func(dc any) error {
		if c, ok := dc.(*sqlite3.SQLiteConn); ok {
			open = !c.AutoCommit()
		}
		return nil
	})
	return open
}
