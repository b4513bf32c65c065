package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/conncat/conncat/catalog"
)

// PollInterval is how often Watch looks for changes other processes
// committed: the bound on how late a process sees another's ALTER or DROP.
const PollInterval = 100 * time.Millisecond

// keptChanges is how many feed entries stay; older ones are pruned. A
// watcher that falls further behind than this forgets everything.
const keptChanges = 1000

// Publish implements catalog.Store: one row of conncat_changes, in the
// statement's transaction.
func (s *Store) Publish(ctx context.Context, tx catalog.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO conncat_changes (ids) VALUES (?)`, strings.Join(ids, ","))
	if err != nil {
		return err
	}
	if seq, err := res.LastInsertId(); err == nil && seq%100 == 0 {
		_, err = tx.ExecContext(ctx, `DELETE FROM conncat_changes WHERE seq <= ?`, seq-keptChanges)
		return err
	}
	return nil
}

// Watch implements catalog.Store by polling the feed's newest entry
// through the pool (an indexed read of one row), and reading the new
// entries only when there are some. It holds no connection between polls:
// an engine's handle may have a pool of one.
func (s *Store) Watch(ctx context.Context, changed func(ids []string, all bool)) {
	w := &watcher{db: s.db, changed: changed, last: -1}
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		w.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

type watcher struct {
	db      *sql.DB
	changed func(ids []string, all bool)
	last    int64 // the last feed entry seen; -1 before the first poll
}

// poll reports what changed since the last poll. Any failure forgets
// everything (a change may have been missed) and starts over.
func (w *watcher) poll(ctx context.Context) {
	if err := w.read(ctx); err != nil && ctx.Err() == nil {
		w.last = -1
		w.changed(nil, true)
	}
}

func (w *watcher) read(ctx context.Context) error {
	var newest int64
	if err := w.db.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM conncat_changes`).Scan(&newest); err != nil {
		return err
	}
	switch {
	case w.last < 0:
		// The first poll (or the first after a failure) starts from the
		// feed's end. What committed before it, since the handle opened,
		// was not seen: everything cached is checked again.
		w.last = newest
		w.changed(nil, true)
		return nil
	case newest == w.last:
		return nil
	case newest < w.last:
		// Not this feed any more (the file was replaced): start over.
		w.last = newest
		w.changed(nil, true)
		return nil
	}
	return w.readFeed(ctx)
}

func (w *watcher) readFeed(ctx context.Context) error {
	var oldest sql.NullInt64
	if err := w.db.QueryRowContext(ctx, `SELECT min(seq) FROM conncat_changes`).Scan(&oldest); err != nil {
		return err
	}
	if oldest.Valid && oldest.Int64 > w.last+1 {
		w.changed(nil, true) // pruned past what this watcher saw
	}
	rows, err := w.db.QueryContext(ctx, `SELECT seq, ids FROM conncat_changes WHERE seq > ? ORDER BY seq`, w.last)
	if err != nil {
		return err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var list string
		if err := rows.Scan(&w.last, &list); err != nil {
			return err
		}
		ids = append(ids, strings.Split(list, ",")...)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) > 0 {
		w.changed(ids, false)
	}
	return nil
}
