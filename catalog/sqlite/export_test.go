package sqlite

import "context"

// MigrateTo brings the schema only up to version target and stops, for
// tests of migrations from older versions.
func (s *Store) MigrateTo(ctx context.Context, target int) error { return s.migrate(ctx, target) }
