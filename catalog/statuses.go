package catalog

import (
	"slices"
	"strings"
	"time"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
)

// StatusTable is the table of the health of the credentials this process
// holds, one row per AWS connection (DESIGN §4). Its rows are the
// process's own state, which no other process and no database has: the
// executor hands them to the store with each query that reads it.
const StatusTable = "mz_aws_connection_statuses"

// StatusColumns are StatusTable's columns, in order.
var StatusColumns = []string{"id", "status", "last_status_change_at", "credentials_expire_at",
	"last_refresh_at", "last_error", "sts_calls"}

// ConnectionStatus is one row of StatusTable. Zero times and an empty
// LastError are NULL.
type ConnectionStatus struct {
	// ID is the AWS connection's, as in mz_connections.id.
	ID string
	// Status is fresh, refreshing, stale, failed, expired or static.
	Status              string
	LastStatusChangeAt  time.Time
	CredentialsExpireAt time.Time
	LastRefreshAt       time.Time
	// LastError is the classified message of the latest failed refresh
	// (VALIDATE's wording); never a secret.
	LastError string
	// STSCalls counts this process's STS calls for the connection's
	// credentials.
	STSCalls int64
}

// statusRows is StatusTable's rows as a query reads them, ordered by ID.
func (c *Catalog) statusRows() *sqlparse.Rows {
	var list []ConnectionStatus
	if c.opts.Statuses != nil {
		list = c.opts.Statuses()
	}
	slices.SortFunc(list, func(a, b ConnectionStatus) int { return strings.Compare(a.ID, b.ID) })
	rows := &sqlparse.Rows{Columns: StatusColumns, Values: make([][]any, len(list))}
	for i, s := range list {
		rows.Values[i] = []any{s.ID, s.Status, timestamp(s.LastStatusChangeAt), timestamp(s.CredentialsExpireAt),
			timestamp(s.LastRefreshAt), nullIfEmpty(s.LastError), s.STSCalls}
	}
	return rows
}

// MaxStatusTableReads bounds how often one query may name StatusTable:
// each reference is written out with every row, so a query naming it
// thousands of times (a long UNION) would build gigabytes of SQL.
const MaxStatusTableReads = 4

// inlineTables are the rows of the process's tables that q reads.
func (c *Catalog) inlineTables(q *sqlparse.Query) (map[string]*sqlparse.Rows, error) {
	reads := 0
	for _, t := range q.Tables() {
		if t.Name != StatusTable {
			continue
		}
		if reads++; reads > MaxStatusTableReads {
			return nil, errorf(sqlstate.ProgramLimitExceeded, q.Pos(), "query reads %s more than %d times", StatusTable, MaxStatusTableReads).
				WithHint("Read it once in a WITH clause and refer to that name.")
		}
	}
	if reads == 0 {
		return nil, nil
	}
	return map[string]*sqlparse.Rows{StatusTable: c.statusRows()}, nil
}

// timestamp writes a time as the catalog's other tables do (RFC 3339,
// UTC); the zero time is NULL.
func timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
