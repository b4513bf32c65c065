package catalog

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// StatusTable is the table of the health of the credentials this process
// holds, one row per provider: per AWS connection used as it is, per S3
// connection over a role (its credentials are scoped to its prefix), and
// per role too with session identity (DESIGN §4). Its rows are the
// process's own state, which no other process and no database has: the
// store asks the executor for them when a query reads the table.
const StatusTable = "mz_aws_connection_statuses"

// StatusColumns are StatusTable's columns, in order.
var StatusColumns = []string{"id", "status", "last_status_change_at", "credentials_expire_at",
	"last_refresh_at", "last_error", "sts_calls", "packed_policy_size", "role"}

// ConnectionStatus is one row of StatusTable. Zero times and an empty
// LastError are NULL.
type ConnectionStatus struct {
	// ID is the connection's whose credentials they are, as in
	// mz_connections.id: an AWS connection's, or an S3 connection's own.
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
	// PackedPolicySize is the percentage of STS's packed limit that the
	// last session's policy and tags used, as STS reported it; 0 (NULL)
	// when it reported none (no session policy or tags).
	PackedPolicySize int
	// Role is the engine role the credentials are for, with session
	// identity on; "" (NULL) when they serve every role.
	Role string
}

// statusRows is StatusTable's rows, ordered by ID, with the values of
// StatusColumns in order.
func (c *Executor) statusRows() [][]any {
	var list []ConnectionStatus
	if c.opts.Statuses != nil {
		list = c.opts.Statuses()
	}
	slices.SortFunc(list, func(a, b ConnectionStatus) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.Role, b.Role))
	})
	rows := make([][]any, len(list))
	for i, s := range list {
		rows[i] = []any{s.ID, s.Status, timestamp(s.LastStatusChangeAt), timestamp(s.CredentialsExpireAt),
			timestamp(s.LastRefreshAt), nullIfEmpty(validText(s.LastError)), s.STSCalls, nullIfZero(s.PackedPolicySize), nullIfEmpty(validText(s.Role))}
	}
	return rows
}

// timestamp writes a time as the catalog's other tables do (RFC 3339,
// UTC); the zero time is NULL.
func timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// validText is s as valid UTF-8 without NUL, as every catalog text is:
// the status rows hold messages of the process's own, and a stray byte
// must not reach a client that refuses it.
func validText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullIfZero(n int) any {
	if n == 0 {
		return nil
	}
	return int64(n)
}
