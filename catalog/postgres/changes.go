package postgres

import (
	"context"
	"database/sql/driver"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/conncat/conncat/catalog"
)

// channel is the LISTEN/NOTIFY channel of the catalog's changes.
func (s *Store) channel() string { return "conncat_" + s.schema }

// maxPayload keeps a notification under PostgreSQL's 8000-byte limit; a
// longer list of IDs is sent as "*", everything.
const maxPayload = 7900

// Publish implements catalog.Store: a notification on the catalog's
// channel, which PostgreSQL delivers when the transaction commits.
func (s *Store) Publish(ctx context.Context, tx catalog.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	payload := strings.Join(ids, ",")
	if len(payload) > maxPayload {
		payload = "*"
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify(?, ?)`, s.channel(), payload)
	return err
}

// Reconnect bounds the wait between attempts to listen again after the
// listening connection was lost.
var reconnect = struct{ first, max time.Duration }{100 * time.Millisecond, 5 * time.Second}

// Watch implements catalog.Store: LISTEN on a connection of its own. When
// that connection is lost the catalog may have changed unseen, so Watch
// reports all, listens again (with backoff), and reports all once more
// when it is listening: what changed in between is forgotten either way.
//
// Every report also makes the replica catch up, in a goroutine of its own
// so that a slow catch-up never holds notifications back; reports that
// arrive while it runs are one more catch-up, not one each.
func (s *Store) Watch(ctx context.Context, changed func(ids []string, all bool)) {
	kick := make(chan struct{}, 1)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		s.follow(ctx, kick)
	}()
	defer func() { <-followed }()
	due := func() {
		select {
		case kick <- struct{}{}:
		default: // a catch-up is already due
		}
	}
	s.watch(ctx, func(ids []string, all bool) {
		due()
		if ids != nil || all {
			changed(ids, all)
		}
	})
}

// changeNotice starts the payload the change log's trigger sends with
// every change number (migration 2): "#<seq>", a change to the catalog's
// rows, a CREATE included, which names no cached connection. Such a
// notice only makes the replica catch up.
const changeNotice = "#"

// followTimeout bounds one catch-up the feed asks for.
const followTimeout = 30 * time.Second

// follow brings the replica up to date at every kick, until ctx ends. A
// failure is left for the next kick, or for the next SELECT, which
// catches up itself.
func (s *Store) follow(ctx context.Context, kick <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
		if s.replica == nil {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, followTimeout)
		_ = s.catchUp(fctx, 0)
		cancel()
	}
}

func (s *Store) watch(ctx context.Context, changed func(ids []string, all bool)) {
	wait := reconnect.first
	for ctx.Err() == nil {
		listened := s.listen(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		changed(nil, true)
		if listened {
			wait = reconnect.first
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, reconnect.max)
	}
}

// listen runs one LISTEN session until its connection fails or ctx ends;
// it reports whether it got as far as listening.
func (s *Store) listen(ctx context.Context, changed func(ids []string, all bool)) (listened bool) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+quoteIdent(s.channel())); err != nil {
			return driver.ErrBadConn
		}
		listened = true
		changed(nil, true) // anything before LISTEN was not heard
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// The connection is not reusable mid-LISTEN: discard it.
				return driver.ErrBadConn
			}
			switch {
			case n.Payload == "*":
				changed(nil, true)
			case strings.HasPrefix(n.Payload, changeNotice):
				changed(nil, false)
			default:
				changed(strings.Split(n.Payload, ","), false)
			}
		}
	})
	return listened
}
