package dataplane

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/connection"
)

// useQueueLen bounds the use events waiting to be written.
const useQueueLen = 1024

// useWriteTimeout bounds one batch's write, as the engine API's default
// statement budget (conncat.DefaultStatementTimeout) bounds a statement.
const useWriteTimeout = time.Minute

// useBatch is the most events one transaction writes.
const useBatch = 64

// useAuditor writes use events off the credentials path.
type useAuditor struct {
	cat       *catalog.Executor
	retention time.Duration
	node      string
	queue     chan catalog.UseEvent
	done      chan struct{}
	stop      context.CancelFunc
	mu        sync.Mutex
	dropped   int64
}

func newUseAuditor(cat *catalog.Executor, retention time.Duration) *useAuditor {
	node, _ := os.Hostname()
	ctx, stop := context.WithCancel(context.Background())
	a := &useAuditor{cat: cat, retention: retention, node: node, queue: make(chan catalog.UseEvent, useQueueLen), done: make(chan struct{}), stop: stop}
	go a.run(ctx)
	return a
}

// assumed queues the event of a role assumed for spec, or counts it
// dropped when the queue is full.
func (a *useAuditor) assumed(spec connection.Spec, key providerKey, scope connection.SessionScope, catalogName string, at time.Time) {
	if a == nil {
		return
	}
	session := spec.SessionName
	if session == "" {
		session = connection.DefaultSessionName(catalogName, spec.ID)
	}
	details := map[string]string{"id": spec.ID, "name": spec.Name, "role_arn": spec.RoleARN, "session_name": session, "node": a.node}
	if key.s3 != "" {
		details["scoped_to"] = key.s3 // the S3 connection whose prefix the session policy grants
	}
	if scope.SourceIdentity != "" {
		details["source_identity"] = scope.SourceIdentity
	}
	ev := catalog.UseEvent{Type: "assume_role", At: at, Details: details, User: key.role}
	select {
	case a.queue <- ev:
	default:
		a.mu.Lock()
		a.dropped++
		a.mu.Unlock()
	}
}

// run writes queued events in batches until ctx ends, then what is left.
func (a *useAuditor) run(ctx context.Context) {
	defer close(a.done)
	for {
		select {
		case ev := <-a.queue:
			a.write(ctx, a.batch(ev))
		case <-ctx.Done():
			for {
				select {
				case ev := <-a.queue:
					a.write(context.Background(), a.batch(ev))
				default:
					return
				}
			}
		}
	}
}

// batch is first and whatever else is queued, up to useBatch events.
func (a *useAuditor) batch(first catalog.UseEvent) []catalog.UseEvent {
	events := []catalog.UseEvent{first}
	for len(events) < useBatch {
		select {
		case ev := <-a.queue:
			events = append(events, ev)
		default:
			return events
		}
	}
	return events
}

// write records a batch; one the catalog refuses is counted dropped: the
// audit of use must never hold the data plane back.
func (a *useAuditor) write(ctx context.Context, events []catalog.UseEvent) {
	ctx, cancel := context.WithTimeout(ctx, useWriteTimeout)
	defer cancel()
	if err := a.cat.RecordUse(ctx, events, a.retention); err != nil {
		a.mu.Lock()
		a.dropped += int64(len(events))
		a.mu.Unlock()
	}
}

// close stops the writer after it wrote what was queued.
func (a *useAuditor) close() {
	if a == nil {
		return
	}
	a.stop()
	<-a.done
}

// DroppedUseEvents is how many use events were dropped: the queue was
// full, or the catalog did not take them.
func (d *Plane) DroppedUseEvents() int64 {
	if d.use == nil {
		return 0
	}
	d.use.mu.Lock()
	defer d.use.mu.Unlock()
	return d.use.dropped
}
