package catalog

import "github.com/google/uuid"

// SetUUIDSource makes external IDs come from next until the returned
// function restores the random source: two catalogs given the same DDL
// history from the same source then hold identical rows.
func SetUUIDSource(next func() (uuid.UUID, error)) (restore func()) {
	newUUID = next
	return func() { newUUID = uuid.NewV7 }
}
