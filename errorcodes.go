package conncat

import (
	"context"
	"database/sql"
	"errors"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/internal/sqlstate"
)

// The SQLSTATE codes conncat reports, as PostgreSQL names and reports the
// same conditions: compare them with Error.Code. Every code any statement
// or API call can return is here.
const (
	CodeFeatureNotSupported      = sqlstate.FeatureNotSupported
	CodeConnectionDoesNotExist   = sqlstate.ConnectionDoesNotExist
	CodeProtocolViolation        = sqlstate.ProtocolViolation
	CodeInvalidStatementName     = sqlstate.InvalidStatementName
	CodeInvalidAuthorizationSpec = sqlstate.InvalidAuthorizationSpec
	CodeInvalidPassword          = sqlstate.InvalidPassword
	CodeInvalidCursorName        = sqlstate.InvalidCursorName
	CodeTooManyConnections       = sqlstate.TooManyConnections
	CodeIdleSessionTimeout       = sqlstate.IdleSessionTimeout
	CodeSuccessfulCompletion     = sqlstate.SuccessfulCompletion
	CodeUnableToConnect          = sqlstate.UnableToConnect
	CodeConnectionFailure        = sqlstate.ConnectionFailure
	CodeDataException            = sqlstate.DataException
	CodeCharacterNotInRepert     = sqlstate.CharacterNotInRepert
	CodeInvalidParameterValue    = sqlstate.InvalidParameterValue
	CodeInvalidTextRepr          = sqlstate.InvalidTextRepr
	CodeInvalidBinaryRepr        = sqlstate.InvalidBinaryRepr
	CodeReadOnlyTransaction      = sqlstate.ReadOnlyTransaction
	CodeActiveTransaction        = sqlstate.ActiveTransaction
	CodeNoActiveTransaction      = sqlstate.NoActiveTransaction
	CodeInFailedTransaction      = sqlstate.InFailedTransaction
	CodeInvalidSavepoint         = sqlstate.InvalidSavepoint
	CodeDependentObjects         = sqlstate.DependentObjects
	CodeSerializationFailure     = sqlstate.SerializationFailure
	CodeInsufficientPrivilege    = sqlstate.InsufficientPrivilege
	CodeSyntaxError              = sqlstate.SyntaxError
	CodeInvalidName              = sqlstate.InvalidName
	CodeNameTooLong              = sqlstate.NameTooLong
	CodeAmbiguousColumn          = sqlstate.AmbiguousColumn
	CodeUndefinedColumn          = sqlstate.UndefinedColumn
	CodeUndefinedObject          = sqlstate.UndefinedObject
	CodeDuplicateObject          = sqlstate.DuplicateObject
	CodeWrongObjectType          = sqlstate.WrongObjectType
	CodeUndefinedFunction        = sqlstate.UndefinedFunction
	CodeReservedName             = sqlstate.ReservedName
	CodeUndefinedParameter       = sqlstate.UndefinedParameter
	CodeUndefinedTable           = sqlstate.UndefinedTable
	CodeDiskFull                 = sqlstate.DiskFull
	CodeOutOfMemory              = sqlstate.OutOfMemory
	CodeProgramLimitExceeded     = sqlstate.ProgramLimitExceeded
	CodePrerequisiteState        = sqlstate.PrerequisiteState
	CodeLockNotAvailable         = sqlstate.LockNotAvailable
	CodeQueryCanceled            = sqlstate.QueryCanceled
	CodeIOError                  = sqlstate.IOError
	CodeInternal                 = sqlstate.Internal
	CodeDataCorrupted            = sqlstate.DataCorrupted
)

// errDBClosed is database/sql's (unexported) error for a closed *sql.DB,
// captured once so that errors.Is can recognise it without comparing text.
var errDBClosed = func() error {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		return errors.New("unreachable: go-sqlite3 is registered")
	}
	db.Close()
	return db.Ping()
}()

// errStatementTimeout is the cause of a context that the statement time
// budget (WithStatementTimeout) ended.
var errStatementTimeout = errors.New("statement timeout")

// coded makes every error that leaves the API a *Error with a SQLSTATE
// chosen as PostgreSQL would, keeping the cause for errors.Is and
// errors.As. ctx is the statement's context, to tell a timeout from a
// cancellation; pos is the statement's position, or -1.
func coded(ctx context.Context, err error, pos int) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	code, message := classify(ctx, err)
	e = &Error{Code: code, Message: message, Position: pos, Err: err}
	if code == CodeTooManyConnections {
		e.Hint = "The catalog's PostgreSQL has no connection left: lower WithMaxConnections on the nodes (each opens at most that many) or raise max_connections."
	}
	return e
}

func classify(ctx context.Context, err error) (code, message string) {
	switch {
	case errors.Is(err, errDBClosed), errors.Is(err, sql.ErrConnDone):
		return CodeConnectionDoesNotExist, "the catalog is closed"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return canceled(ctx)
	}
	// The store's driver knows its own errors (catalog/sqlite,
	// catalog/postgres register theirs).
	code, message, ok := catalog.ClassifyDriverError(err)
	switch {
	case !ok:
		return CodeInternal, "internal error: " + err.Error()
	case code == CodeQueryCanceled: // a driver's interrupt: the context says why
		return canceled(ctx)
	}
	return code, message
}

// canceled is 57014 with PostgreSQL's words for why: the statement's time
// ran out, or the caller gave up.
func canceled(ctx context.Context) (code, message string) {
	if ctx != nil && context.Cause(ctx) == errStatementTimeout {
		return CodeQueryCanceled, "canceling statement due to statement timeout"
	}
	return CodeQueryCanceled, "canceling statement due to user request"
}
