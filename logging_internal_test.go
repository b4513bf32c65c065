package conncat

import "testing"

// TestCatalogTrouble: the SQLSTATEs logged at WARN are the database's
// trouble, not a statement's mistake or the engine closing its handle.
func TestCatalogTrouble(t *testing.T) {
	for code, want := range map[string]bool{
		CodeConnectionFailure: true, CodeUnableToConnect: true, CodeDiskFull: true, CodeOutOfMemory: true,
		CodeIOError: true, CodeDataCorrupted: true, CodeReadOnlyTransaction: true,
		CodeConnectionDoesNotExist: false, CodeSyntaxError: false, CodeUndefinedObject: false,
		CodeInternal: false, CodeQueryCanceled: false, CodeLockNotAvailable: false,
	} {
		if got := catalogTrouble(code); got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
}
