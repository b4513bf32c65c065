package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/sqlite"
)

// A node answers SELECT, SHOW and Describe from its replica of the stored
// tables (sqlite.Replica), so that every store runs SELECT in SQLite.
// The replica follows the change log (migration 2): every transaction
// that writes a stored table takes the next change number, in commit
// order with no gaps, and records the IDs of the objects it wrote. A
// replica at change n catches up by reading, in one snapshot, the changes
// after n and the current rows of the objects they name, and applying
// them in one SQLite transaction.

// Open implements catalog.Store: migrate, then load this node's replica.
func (s *Store) Open(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	r, err := sqlite.NewReplica(ctx)
	if err != nil {
		return err
	}
	s.replica = r
	if err := s.catchUp(ctx, 0); err != nil {
		r.Close()
		s.replica = nil
		return fmt.Errorf("load replica: %w", err)
	}
	return nil
}

// Close implements catalog.Store: it removes the replica.
func (s *Store) Close() error {
	if s.replica == nil {
		return nil
	}
	return s.replica.Close()
}

// fresh makes the replica hold every change committed before it was
// called: it asks for the latest change number (one round trip) and
// catches up if the replica is behind, within ctx. With StaleReads it asks
// nothing, unless this handle wrote since the replica last caught up.
func (s *Store) fresh(ctx context.Context) error {
	if s.StaleReads {
		if s.wrote.Load() {
			_ = s.catchUp(ctx, 0) // still stale-tolerant: a failure reads what is there
		}
		return nil
	}
	latest, err := s.latest(ctx)
	if err != nil {
		return err
	}
	switch held := s.replica.Seq(); {
	case held == latest:
		return nil
	case held > latest:
		// The log went back: the catalog was made anew under this node
		// (or the feed caught up in between, and this costs a round trip).
		return s.catchUp(ctx, 0)
	}
	return s.catchUp(ctx, latest)
}

// latest is the catalog's latest change number: one round trip.
func (s *Store) latest(ctx context.Context) (int64, error) {
	var latest int64
	err := s.db.QueryRowContext(ctx, s.latestSQL).Scan(&latest)
	return latest, err
}

// catchUp brings the replica to the latest change, unless it already holds
// change target (0: always look). One goroutine fetches at a time; the
// others wait for it, within their contexts, and usually find their
// change applied.
func (s *Store) catchUp(ctx context.Context, target int64) error {
	select {
	case s.catchingUp <- struct{}{}:
		defer func() { <-s.catchingUp }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if target > 0 && s.replica.Seq() >= target {
		return nil
	}
	wrote := s.wrote.Swap(false)
	err := s.onConn(ctx, func(conn *pgx.Conn) error {
		// A loaded replica takes what changed since, even from change 0
		// (a catalog whose log is still empty must not be loaded whole
		// again at every catch-up).
		if s.replica.Loaded() {
			if full, err := s.apply(ctx, conn, s.replica.Seq()); err != nil || !full {
				return err
			}
		}
		_, err := s.apply(ctx, conn, everything)
		return err
	})
	if err != nil && wrote {
		s.wrote.Store(true)
	}
	return err
}

// onConn runs fn on a pgx connection of the pool.
func (s *Store) onConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// everything, as apply's since, loads every row.
const everything = -1

// apply reads, in one repeatable-read transaction and one round trip,
// the changes after since and the current rows of the objects they name
// (every row for everything), and applies them to the replica as they
// stream in. full reports that the log no longer reaches back to since
// (pruned, or a catalog made anew): nothing was applied, and only a full
// load can catch up.
func (s *Store) apply(ctx context.Context, conn *pgx.Conn, since int64) (full bool, err error) {
	incremental := since != everything
	// Only this goroutine changes the replica (catchUp), so its highest
	// keys now are those of the update below.
	highest, err := highestKeys(ctx, s.replica.HighestKey)
	if err != nil {
		return false, err
	}
	results := conn.SendBatch(ctx, s.changeBatch(since, highest))
	defer results.Close()
	if _, err := results.Exec(); err != nil {
		return false, err
	}
	var latest, oldest int64
	if err := results.QueryRow().Scan(&latest, &oldest); err != nil {
		return false, err
	}
	if incremental && (oldest > since+1 || latest < since) {
		return true, nil
	}
	if incremental && latest == since {
		return false, nil // nothing new
	}
	var objects []string
	if incremental {
		rows, _ := results.Query()
		if objects, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return false, err
		}
		objects = append([]string{}, objects...) // not nil: nil would replace everything
	}
	update, err := s.replica.Begin(ctx, objects)
	if err != nil {
		return false, err
	}
	defer update.Rollback()
	if err := pipeRows(ctx, results, update); err != nil {
		return false, err
	}
	return false, update.Commit(ctx, latest)
}

// changeBatch is apply's transaction: the log's newest change and its
// oldest after since, the objects changed after since, and their rows
// (every row for everything).
// highest holds each IntegerKey table's highest key in the replica, by
// the table's place in catalog.StoredTables.
func (s *Store) changeBatch(since int64, highest []int64) *pgx.Batch {
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	batch.Queue(s.expand(`SELECT (SELECT coalesce(max(seq), 0) FROM {{schema}}.conncat_changes),
		(SELECT coalesce(min(seq), $1::bigint + 1) FROM {{schema}}.conncat_changes WHERE seq > $1::bigint)`), since)
	if since != everything {
		batch.Queue(s.expand(`SELECT DISTINCT object_id FROM {{schema}}.conncat_changes WHERE seq > $1`), since)
	}
	for i, t := range catalog.StoredTables {
		q := `SELECT ` + quotedList(s.replica.Columns(t.Name)) + ` FROM {{schema}}.` + t.Name
		if since != everything {
			args := []any{since}
			if t.IntegerKey {
				args = append(args, highest[i])
			}
			batch.Queue(s.expand(q+` WHERE `+changedSince(t, "$1", "$2")), args...)
		} else {
			// In key order: the replica's tables are stored by key, and
			// appending is the cheapest way to fill them.
			batch.Queue(s.expand(q + ` ORDER BY ` + keyOrder[t.Name]))
		}
	}
	batch.Queue(`COMMIT`)
	return batch
}

// changedSince is the condition on t's rows of the objects changed after
// the change in sinceParam. An IntegerKey table's rows numbered above
// keyParam (the replica's highest) are new; the log names its rows that
// were removed or written alone, by number, as text beside object IDs
// ("u1") that are not numbers.
func changedSince(t catalog.StoredTable, sinceParam, keyParam string) string {
	if t.IntegerKey {
		return `(` + t.ObjectColumn + ` > ` + keyParam + ` OR ` + t.ObjectColumn + ` IN (SELECT object_id::bigint FROM {{schema}}.conncat_changes WHERE seq > ` + sinceParam + ` AND object_id ~ '^[0-9]+$'))`
	}
	return t.ObjectColumn + ` IN (SELECT object_id FROM {{schema}}.conncat_changes WHERE seq > ` + sinceParam + `)`
}

// highestKeys reads each IntegerKey table's highest key from read (the
// replica, or an update of it), by the table's place in StoredTables.
func highestKeys(ctx context.Context, read func(context.Context, catalog.StoredTable) (int64, error)) ([]int64, error) {
	keys := make([]int64, len(catalog.StoredTables))
	for i, t := range catalog.StoredTables {
		if !t.IntegerKey {
			continue
		}
		var err error
		if keys[i], err = read(ctx, t); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// chunkRows is how many rows pass from the reader to the writer at once.
const chunkRows = 256

// chunk is rows of one table on their way into the replica.
type chunk struct {
	table string
	rows  [][]any
}

// pipeRows reads the rows of every stored table from the batch (then its
// COMMIT) and inserts them into update. Reading (PostgreSQL's and pgx's
// work) and inserting (SQLite's) overlap: a goroutine reads while this one
// writes, a few chunks apart, so memory stays bounded however large the
// catalog.
func pipeRows(ctx context.Context, results pgx.BatchResults, update *sqlite.Update) error {
	chunks := make(chan chunk, 4)
	read := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(chunks)
		read <- readRows(ctx, results, chunks)
	}()
	var insertErr error
	for c := range chunks {
		for _, row := range c.rows {
			if insertErr == nil {
				insertErr = update.Insert(ctx, c.table, row)
			}
		}
		if insertErr != nil {
			cancel() // the reader stops at its next send
		}
	}
	if err := <-read; err != nil && insertErr == nil {
		return err
	}
	return insertErr
}

// readRows sends the batch's table results to chunks, with the values pgx
// decodes (string, int64 or nil for the stored tables' types, which
// SQLite stores as they are), and reads the COMMIT.
func readRows(ctx context.Context, results pgx.BatchResults, chunks chan<- chunk) error {
	for _, t := range catalog.StoredTables {
		rows, err := results.Query()
		if err != nil {
			return err
		}
		c := chunk{table: t.Name}
		for rows.Next() {
			values, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			if c.rows = append(c.rows, values); len(c.rows) == chunkRows {
				select {
				case chunks <- c:
				case <-ctx.Done():
					rows.Close()
					return ctx.Err()
				}
				c = chunk{table: t.Name}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(c.rows) > 0 {
			select {
			case chunks <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	_, err := results.Exec() // COMMIT
	return err
}

// keyOrder is each stored table's primary key, in SQLite's byte order.
var keyOrder = map[string]string{
	"mz_connections": `id COLLATE "C"`, "mz_aws_connections": `id COLLATE "C"`, "mz_s3_connections": `id COLLATE "C"`,
	"mz_secrets": `id COLLATE "C"`, "mz_object_dependencies": `object_id COLLATE "C", referenced_object_id COLLATE "C"`,
	"mz_connection_validations": `connection_id COLLATE "C", "check" COLLATE "C"`,
	"mz_audit_events":           `id`,
}

func quotedList(cols []string) string {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	return strings.Join(quoted, ", ")
}
