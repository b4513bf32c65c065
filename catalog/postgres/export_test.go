package postgres

// SetMaxBuffered lowers the bound on a buffered read for a test; the
// returned function puts it back.
func SetMaxBuffered(n int) (restore func()) {
	was := maxBuffered
	maxBuffered = n
	return func() { maxBuffered = was }
}
