package postgres

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/conncat/conncat/internal/sqlstate"
)

// MaxMessageBytes bounds one message from a PostgreSQL catalog (pgx reads
// no larger one): a row of a result over it fails with 54000.
const MaxMessageBytes = 16 << 20

// classifyDriverError codes an error of pgx: PostgreSQL's own SQLSTATE and
// message (a unique violation is the duplicate object it means, 42710),
// and 08xxx for a connection that could not be made or was lost, with the
// driver's words after conncat's.
func classifyDriverError(err error) (code, message string, ok bool) {
	var pe *pgconn.PgError
	var connect *pgconn.ConnectError
	var netErr net.Error
	var tooBig *pgproto3.ExceededMaxBodyLenErr
	switch {
	case errors.As(err, &tooBig):
		return sqlstate.ProgramLimitExceeded, fmt.Sprintf("a row of the result is larger than %d MiB, the most conncat reads from PostgreSQL", MaxMessageBytes>>20), true
	case errors.As(err, &pe) && pe.Code == pgUniqueViolation:
		return sqlstate.DuplicateObject, "an object with that name or ID already exists: " + pe.Message, true
	case errors.As(err, &pe) && strings.HasPrefix(pe.Code, pgUnavailableClass):
		return sqlstate.ConnectionFailure, "the catalog's database is unavailable: " + pe.Message, true
	case errors.As(err, &pe):
		return pe.Code, pe.Message, true
	case errors.As(err, &connect):
		return sqlstate.UnableToConnect, "could not connect to the catalog's database: " + connect.Unwrap().Error(), true
	case pgconn.SafeToRetry(err), errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn):
		return sqlstate.ConnectionFailure, "lost the connection to the catalog's database: " + err.Error(), true
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
