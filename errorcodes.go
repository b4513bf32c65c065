package conncat

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	sqlite3 "github.com/mattn/go-sqlite3"

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
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || isSQLite(err, sqlite3.ErrInterrupt):
		if ctx != nil && context.Cause(ctx) == errStatementTimeout {
			return CodeQueryCanceled, "canceling statement due to statement timeout"
		}
		return CodeQueryCanceled, "canceling statement due to user request"
	}
	if code, message, ok := classifyPostgres(err); ok {
		return code, message
	}
	switch {
	case isSQLite(err, sqlite3.ErrBusy), isSQLite(err, sqlite3.ErrLocked):
		return CodeLockNotAvailable, "could not obtain the catalog's lock: " + err.Error()
	case isSQLite(err, sqlite3.ErrFull):
		return CodeDiskFull, "could not write the catalog: the disk is full"
	case isSQLite(err, sqlite3.ErrNomem):
		return CodeOutOfMemory, "out of memory: " + err.Error()
	case isSQLite(err, sqlite3.ErrReadonly):
		return CodeReadOnlyTransaction, "cannot write the catalog: it is read-only (" + err.Error() + ")"
	case isSQLite(err, sqlite3.ErrCorrupt), isSQLite(err, sqlite3.ErrNotADB):
		return CodeDataCorrupted, "the catalog's database is corrupt: " + err.Error()
	case isSQLite(err, sqlite3.ErrIoErr), isSQLite(err, sqlite3.ErrCantOpen):
		return CodeIOError, "could not read or write the catalog: " + err.Error()
	case isSQLite(err, sqlite3.ErrTooBig):
		return CodeProgramLimitExceeded, "a value is larger than the catalog allows: " + err.Error()
	}
	return CodeInternal, "internal error: " + err.Error()
}

func isSQLite(err error, code sqlite3.ErrNo) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == code
}

// classifyPostgres codes an error of the PostgreSQL store: PostgreSQL's
// own SQLSTATE and message (a unique violation is the duplicate object it
// means, 42710), and 08xxx for a connection that could not be made or was
// lost, with the driver's words after conncat's.
func classifyPostgres(err error) (code, message string, ok bool) {
	var pe *pgconn.PgError
	var connect *pgconn.ConnectError
	var netErr net.Error
	var tooBig *pgproto3.ExceededMaxBodyLenErr
	switch {
	case errors.As(err, &tooBig):
		return CodeProgramLimitExceeded, fmt.Sprintf("a row of the result is larger than %d MiB, the most conncat reads from PostgreSQL", MaxPostgresMessageBytes>>20), true
	case errors.As(err, &pe) && pe.Code == pgUniqueViolation:
		return CodeDuplicateObject, "an object with that name or ID already exists: " + pe.Message, true
	case errors.As(err, &pe) && strings.HasPrefix(pe.Code, pgUnavailableClass):
		return CodeConnectionFailure, "the catalog's database is unavailable: " + pe.Message, true
	case errors.As(err, &pe):
		return pe.Code, pe.Message, true
	case errors.As(err, &connect):
		return CodeUnableToConnect, "could not connect to the catalog's database: " + connect.Unwrap().Error(), true
	case pgconn.SafeToRetry(err), errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn):
		return CodeConnectionFailure, "lost the connection to the catalog's database: " + err.Error(), true
	}
	return "", "", false
}

// pgUniqueViolation is PostgreSQL's 23505, which conncat reports as 42710.
const pgUniqueViolation = "23505"

// pgUnavailableClass starts PostgreSQL's 57P01 (admin shutdown), 57P02
// (crash shutdown), 57P03 (cannot connect now) and 57P04: the server is
// going away or not back yet, which to a caller is a lost connection
// (08006), to retry once it is back.
const pgUnavailableClass = "57P0"
