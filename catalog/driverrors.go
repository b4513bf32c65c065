package catalog

import "sync"

// A DriverErrorClassifier codes an error of one store's database driver as
// the SQLSTATE and message conncat reports (ok false: not its driver's).
// Each store package registers its own, so the code that knows a driver's
// errors lives with the store that uses the driver, and a new store adds
// its own without an edit elsewhere.
type DriverErrorClassifier func(err error) (code, message string, ok bool)

var (
	classifiersMu sync.RWMutex
	classifiers   []DriverErrorClassifier
)

// RegisterDriverErrors adds a store's classifier; store packages call it
// from init.
func RegisterDriverErrors(c DriverErrorClassifier) {
	classifiersMu.Lock()
	defer classifiersMu.Unlock()
	classifiers = append(classifiers, c)
}

// ClassifyDriverError asks each registered store's classifier in turn.
func ClassifyDriverError(err error) (code, message string, ok bool) {
	classifiersMu.RLock()
	defer classifiersMu.RUnlock()
	for _, c := range classifiers {
		if code, message, ok := c(err); ok {
			return code, message, true
		}
	}
	return "", "", false
}
