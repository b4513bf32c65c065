package sqlparse

// WithoutQueryCache runs fn with the cache of parsed queries off, for
// benchmarks of the parse itself.
func WithoutQueryCache(fn func()) {
	saved := queryCache
	queryCache = newLRU(0)
	defer func() { queryCache = saved }()
	fn()
}
