package dataplane

import (
	"context"

	"github.com/conncat/conncat/catalog"
)

// A config made for a role (WithRole) keeps serving that role only while
// it may use the connection: REVOKE and ALTER ... OWNER TO reach configs
// already handed out, as ALTER does. The verdict is cached per role and
// connection, so a cached Retrieve reads no catalog; any change to the
// connection (which REVOKE and OWNER TO publish, on every node through
// the change feed) forgets it, and the next Retrieve asks the catalog.

// usageKey is a role's use of a connection (the one the config was made
// for: an S3 connection's own ID, not its AWS connection's).
type usageKey struct{ role, connID string }

// allow records that role may use connID, unless the connection changed
// since gen was read (the verdict would be stale).
func (d *Plane) allow(key usageKey, gen uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.idGeneration[key.connID] == gen {
		d.allowed[key] = true
	}
}

// mayUse checks, cheaply when nothing changed, that the role of a config
// may still use its connection.
func (d *Plane) mayUse(ctx context.Context, key usageKey) error {
	d.mu.Lock()
	ok, gen := d.allowed[key], d.idGeneration[key.connID]
	d.mu.Unlock()
	if ok {
		return nil
	}
	if _, err := d.cat.ResolveID(catalog.WithRole(ctx, key.role), key.connID); err != nil {
		return err
	}
	d.allow(key, gen)
	return nil
}

// forgetUsage drops the verdicts on the connections ids (all, for nil);
// the caller holds d.mu.
func (d *Plane) forgetUsage(ids []string) {
	if ids == nil {
		clear(d.allowed)
		return
	}
	for key := range d.allowed {
		for _, id := range ids {
			if key.connID == id {
				delete(d.allowed, key)
			}
		}
	}
}
