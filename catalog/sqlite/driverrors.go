package sqlite

import (
	"errors"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/conncat/conncat/internal/sqlstate"
)

// classifyDriverError codes go-sqlite3's errors: a statement interrupted
// (its context ended; the caller says whether by timeout or by request),
// the file locked, full, read-only, corrupt or unreadable, a value too big.
func classifyDriverError(err error) (code, message string, ok bool) {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return "", "", false
	}
	switch se.Code {
	case sqlite3.ErrInterrupt:
		return sqlstate.QueryCanceled, "canceling statement due to user request", true
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return sqlstate.LockNotAvailable, "could not obtain the catalog's lock: " + err.Error(), true
	case sqlite3.ErrFull:
		return sqlstate.DiskFull, "could not write the catalog: the disk is full", true
	case sqlite3.ErrNomem:
		return sqlstate.OutOfMemory, "out of memory: " + err.Error(), true
	case sqlite3.ErrReadonly:
		return sqlstate.ReadOnlyTransaction, "cannot write the catalog: it is read-only (" + err.Error() + ")", true
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
		return sqlstate.DataCorrupted, "the catalog's database is corrupt: " + err.Error(), true
	case sqlite3.ErrIoErr, sqlite3.ErrCantOpen:
		return sqlstate.IOError, "could not read or write the catalog: " + err.Error(), true
	case sqlite3.ErrTooBig:
		return sqlstate.ProgramLimitExceeded, "a value is larger than the catalog allows: " + err.Error(), true
	}
	return "", "", false
}
