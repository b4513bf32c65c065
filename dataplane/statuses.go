package dataplane

import (
	"errors"
	"sync"
	"time"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/connection"
)

// The statuses of mz_internal.mz_aws_connection_statuses.
const (
	// StatusRefreshing: the first credentials, or the next after fresh
	// ones, are being obtained.
	StatusRefreshing = "refreshing"
	// StatusFresh: the latest refresh succeeded; its credentials are served.
	StatusFresh = "fresh"
	// StatusStale: the latest refresh failed; the last good credentials
	// are served until credentials_expire_at. An operator should act.
	StatusStale = "stale"
	// StatusFailed: no credentials could be obtained.
	StatusFailed = "failed"
	// StatusExpired: the credentials ran out and none replaced them.
	StatusExpired = "expired"
	// StatusStatic: access keys used as given; conncat cannot refresh them.
	StatusStatic = "static"
)

// health is what this process knows of one connection's credentials:
// one per built provider, updated by its cache's refresh events (off the
// cached path) and read by SELECT.
type health struct {
	id, role string
	now      func() time.Time

	mu            sync.Mutex
	status        string
	changedAt     time.Time
	expiresAt     time.Time
	lastRefreshAt time.Time
	lastError     string
	stsCalls      int64
	// packedPolicySize is what STS last said of the session policy and
	// tags (a percentage of its packed limit); 0 when it said nothing.
	packedPolicySize int
}

func newHealth(key providerKey, spec connection.Spec, now func() time.Time) *health {
	h := &health{id: key.id(), role: key.role, now: now, status: StatusRefreshing, changedAt: now()}
	if !spec.AssumesRole() {
		h.status = StatusStatic
	}
	return h
}

// set changes the status; the time of change moves only when it differs.
func (h *health) set(status string, at time.Time) {
	if h.status != status {
		h.status, h.changedAt = status, at
	}
}

// started is a refresh of the served credentials starting. A failing
// connection keeps its failure while it retries: "refreshing" is for
// routine refreshes, and alerts on stale or failed must not flap.
func (h *health) started() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.status == StatusFresh {
		h.set(StatusRefreshing, h.now())
	}
}

// assumed records what STS said of a session of the served hop.
func (h *health) assumed(s awscreds.Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.packedPolicySize = s.PackedPolicySize
}

// refreshed records how a refresh ended. Every hop's refresh is an STS
// call; only the served hop's outcome is the connection's status.
func (h *health) refreshed(ev awscreds.RefreshEvent, classified string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stsCalls++
	if ev.Inner {
		return
	}
	now := h.now()
	h.lastRefreshAt = now
	var expired *awscreds.ExpiredError
	switch {
	case ev.Err == nil:
		h.expiresAt, h.lastError = ev.Expires, ""
		h.set(StatusFresh, now)
		return
	case !ev.LastGoodUntil.IsZero():
		h.set(StatusStale, now)
	case !ev.ExpiredAt.IsZero():
		h.set(StatusExpired, ev.ExpiredAt) // they ran out then, not now
	case errors.As(ev.Err, &expired) || !h.expiresAt.IsZero():
		h.set(StatusExpired, now)
	default:
		h.set(StatusFailed, now)
	}
	h.lastError = classified
}

// row is the connection's row as of now: credentials whose expiry passed
// with no replacement are expired from that moment, whatever the last
// event said.
func (h *health) row() catalog.ConnectionStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := catalog.ConnectionStatus{ID: h.id, Status: h.status, LastStatusChangeAt: h.changedAt,
		CredentialsExpireAt: h.expiresAt, LastRefreshAt: h.lastRefreshAt, LastError: h.lastError, STSCalls: h.stsCalls,
		Role: h.role, PackedPolicySize: h.packedPolicySize}
	if (s.Status == StatusFresh || s.Status == StatusStale) && !s.CredentialsExpireAt.IsZero() && !h.now().Before(s.CredentialsExpireAt) {
		s.Status, s.LastStatusChangeAt = StatusExpired, s.CredentialsExpireAt
	}
	return s
}

// Statuses are the rows of mz_aws_connection_statuses: every connection
// this process holds a provider for, including those set aside while the
// change feed was down (they are still served).
func (d *Plane) Statuses() []catalog.ConnectionStatus {
	d.mu.Lock()
	all := make([]*health, 0, len(d.providers)+len(d.suspect))
	for _, m := range []map[providerKey]builtProvider{d.providers, d.suspect} {
		for _, built := range m {
			all = append(all, built.health)
		}
	}
	d.mu.Unlock()
	rows := make([]catalog.ConnectionStatus, len(all))
	for i, h := range all {
		rows[i] = h.row()
	}
	return rows
}
