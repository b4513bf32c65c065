package catalog

import (
	"context"
	"database/sql"
	"sync"
)

// A Backend is a kind of store that conncat.Open makes from a target (a
// file path, a URL) and conncat.OpenDB from an engine's handle. Each store
// package registers its own from init, so adding a store is one package
// (passing the conformance suite) and its import; nothing else chooses,
// and nothing else reads its driver's errors.
type Backend struct {
	Name string
	// Serves reports whether a target is this backend's; a backend that
	// serves whatever no other does registers last (SQLite: any path).
	Serves func(target string) bool
	// ServesHandle reports whether db is a handle of this backend's driver;
	// nil (with New) for a backend OpenDB does not serve.
	ServesHandle func(db *sql.DB) bool
	// Open opens target as cfg asks; the handle is the caller's to close.
	Open func(ctx context.Context, target string, cfg BackendConfig) (*Opened, error)
	// New makes the store on an engine's handle, which stays the engine's.
	New func(db *sql.DB, cfg BackendConfig) (Store, error)
	// ClassifyError codes an error of the backend's driver as the SQLSTATE
	// and message conncat reports; ok is false for an error not its
	// driver's; nil for none. The code that knows a driver's errors lives
	// with the store that uses the driver.
	ClassifyError func(err error) (code, message string, ok bool)
}

// BackendConfig is what the engine asked of a store, as Open's options
// said it; zero values mean the backend's defaults.
type BackendConfig struct {
	Schema     string
	StaleReads bool
	// MaxConns bounds the connections a handle Open makes holds.
	MaxConns int
	// KeyGiven says the engine gave the sealing key (a provider or a
	// file); a backend that cannot keep one beside the catalog refuses
	// to open without it.
	KeyGiven bool
}

// Opened is a store Open made, and what the catalog on it defaults to.
type Opened struct {
	DB    *sql.DB
	Store Store
	// Name is the catalog's name by default (a file's base name, a schema).
	Name string
	// KeyFile is where the sealing key is kept when the engine gave none;
	// "" when the backend refused that case already.
	KeyFile string
	// MaxConcurrentQueries is the most SELECTs that may run at once on
	// the handle, 0 for the process's default.
	MaxConcurrentQueries int
	// Check, when set, runs once the catalog is open (SQLite: WAL).
	Check func(ctx context.Context) error
}

var (
	backendsMu sync.RWMutex
	backends   []Backend
)

// RegisterBackend adds a backend; store packages call it from init. As
// sql.Register does, it panics on a registration that cannot work: no
// name, nothing to serve targets or open them, or handles served with no
// way to make a store on them.
func RegisterBackend(b Backend) {
	if b.Name == "" || b.Serves == nil || b.Open == nil || (b.ServesHandle != nil) != (b.New != nil) {
		panic("catalog: RegisterBackend needs a Name, Serves and Open, and New with ServesHandle")
	}
	backendsMu.Lock()
	defer backendsMu.Unlock()
	backends = append(backends, b)
}

// BackendFor is the backend that serves target, the last registered
// that does (a catch-all registers first, a specific scheme after it).
func BackendFor(target string) (Backend, bool) {
	return lastBackend(func(b Backend) bool { return b.Serves(target) })
}

// ClassifyDriverError asks each registered backend to code err.
func ClassifyDriverError(err error) (code, message string, ok bool) {
	backendsMu.RLock()
	defer backendsMu.RUnlock()
	for _, b := range backends {
		if b.ClassifyError == nil {
			continue // a backend whose driver raises nothing of its own
		}
		if code, message, ok := b.ClassifyError(err); ok {
			return code, message, true
		}
	}
	return "", "", false
}

// BackendForHandle is the backend whose driver db is a handle of.
func BackendForHandle(db *sql.DB) (Backend, bool) {
	return lastBackend(func(b Backend) bool { return b.ServesHandle != nil && b.ServesHandle(db) })
}

func lastBackend(serves func(Backend) bool) (Backend, bool) {
	backendsMu.RLock()
	defer backendsMu.RUnlock()
	for i := len(backends) - 1; i >= 0; i-- {
		if serves(backends[i]) {
			return backends[i], true
		}
	}
	return Backend{}, false
}
