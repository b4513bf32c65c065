package conncat

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/validate"
)

// WithLogger sends conncat's events to logger; without it conncat logs
// nothing. Attribute names are stable: connection_id, connection, check,
// status, sqlstate, expires_at, last_good_until, expired_at, source, statement,
// message, hint. WARN and ERROR mean an operator should act: a customer's
// role stopped trusting the engine, credentials ran out. No event holds a
// secret: statements are redacted, errors are the classified message that
// VALIDATE would give.
func WithLogger(logger *slog.Logger) Option { return func(o *options) { o.logger = logger } }

// events writes conncat's log events; the zero value writes nothing.
type events struct{ log *slog.Logger }

func newEvents(l *slog.Logger) events {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return events{log: l}
}

// refreshed reports how a refresh of a connection's credentials ended; p
// is its error as VALIDATE would explain it. The jump role's hop is
// reported only when it fails (with hop=jump): its credentials are not
// the ones served, and their expiry would mislead.
func (e events) refreshed(spec connection.Spec, ev awscreds.RefreshEvent, p validate.Problem) {
	attrs := []any{"connection_id", spec.ID, "connection", spec.Name, "took_ms", ev.Took.Milliseconds()}
	if ev.Inner {
		if ev.Err == nil {
			return
		}
		attrs = append(attrs, "hop", "jump")
	}
	switch {
	case ev.Err == nil:
		e.log.Info("credentials obtained", append(attrs, "expires_at", ev.Expires.UTC().Format(time.RFC3339))...)
	case !ev.LastGoodUntil.IsZero():
		e.log.Warn("credentials refresh failed; serving the last good credentials",
			append(attrs, "message", p.Message, "hint", p.Hint, "last_good_until", ev.LastGoodUntil.UTC().Format(time.RFC3339))...)
	case !ev.ExpiredAt.IsZero():
		e.log.Error("credentials expired and could not be replaced",
			append(attrs, "message", p.Message, "hint", p.Hint, "expired_at", ev.ExpiredAt.UTC().Format(time.RFC3339))...)
	default:
		e.log.Error("credentials could not be obtained and none are left to serve",
			append(attrs, "message", p.Message, "hint", p.Hint)...)
	}
}

// invalidated reports connections whose cached credentials were dropped
// by a statement of this handle (source "statement"), or set aside to be
// checked against the catalog on next use because the change feed named
// them (source "feed": another handle or node, or this one's own change
// coming back).
func (e events) invalidated(ids []string, source string) {
	switch {
	case len(ids) == 0:
	case source == "feed":
		// DEBUG: anyone who can connect to the catalog's database can name
		// IDs on its channel; what the check finds is what an operator
		// needs (rechecked).
		e.log.Debug("cached credentials to be checked: the change feed named their connections", "connection_ids", ids, "source", source)
	default:
		e.log.Info("cached credentials dropped", "connection_ids", ids, "source", source)
	}
}

// rechecked reports what became of a cached provider the change feed set
// aside, once checked against the catalog: "unchanged" (back in use),
// "dropped" (its connection is gone), "changed" or "unchecked" (rebuilt
// on next use), "superseded" (used or changed again meanwhile), "not
// held" (nothing was cached for it here). One event per ID the feed
// names, after it was handled, so a test can wait for it. INFO only when
// the catalog confirmed a change; DEBUG otherwise: a feed's echo of every
// DDL, or names forged on the channel, would fill an operator's log.
func (e events) rechecked(id, outcome string) {
	level := slog.LevelDebug
	if outcome == "changed" || outcome == "dropped" {
		level = slog.LevelInfo // a real change, confirmed by the catalog
	}
	e.log.Log(context.Background(), level, "cached credentials checked against the catalog", "connection_id", id, "outcome", outcome, "source", "feed")
}

// setAside reports that the change feed was down: every cached provider
// is checked against the catalog on next use.
func (e events) setAside() {
	e.log.Info("change feed (re)connected: cached credentials will be checked against the catalog", "source", "feed")
}

// applied reports a DDL statement, redacted.
func (e events) applied(stmt Statement, res *Result) {
	e.log.Info("statement applied", "statement", stmt.String(), "tag", res.Tag, "changed", res.Changed)
}

// validated reports a VALIDATE run, one event per check.
func (e events) validated(ctx context.Context, r *Resolved, results []validate.Result) {
	for _, v := range results {
		e.log.InfoContext(ctx, "validation check finished", "connection_id", r.ID, "connection", r.Name,
			"check", v.Check, "status", string(v.Status), "message", v.Message, "duration_ms", v.Duration.Milliseconds())
	}
}

func (e events) keyRotated() { e.log.Info("sealing key rotated") }

// failed reports a statement that failed: at WARN when the catalog's
// database is the cause (an operator should look), at DEBUG when it is the
// statement's own mistake (a user sees that error already). The statement
// is redacted; an error's message never holds a secret.
func (e events) failed(ctx context.Context, stmt Statement, err error) {
	var coded *Error
	if err == nil || !errors.As(err, &coded) {
		return
	}
	level := slog.LevelDebug
	if catalogTrouble(coded.Code) {
		level = slog.LevelWarn
	}
	e.log.Log(ctx, level, "statement failed", "statement", stmt.String(), "sqlstate", coded.Code, "message", coded.Message)
}

// catalogTrouble reports the SQLSTATEs that say the catalog's database,
// not the statement, is at fault: unreachable (but not a handle the engine
// closed), out of disk or memory, read-only, I/O errors, corruption.
func catalogTrouble(code string) bool {
	switch {
	case code == sqlstate.ConnectionDoesNotExist:
		return false
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "58"):
		return true
	}
	return code == sqlstate.ReadOnlyTransaction || code == sqlstate.DataCorrupted
}
