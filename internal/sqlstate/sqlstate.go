// Package sqlstate holds every SQLSTATE code conncat reports, named as
// PostgreSQL's errcodes.txt names them, in one place: the parser, the
// catalog and the root package all use these, and the root package
// exports each of them to engines as CodeXxx.
package sqlstate

// Class 0A: the feature is not supported.
const FeatureNotSupported = "0A000"

// Class 08: the connection (to the catalog's database, or a client's to
// a server built on conncat) failed.
const (
	UnableToConnect        = "08001"
	ConnectionDoesNotExist = "08003"
	ConnectionFailure      = "08006"
	ProtocolViolation      = "08P01"
)

// What a wire server built on conncat reports: success (00), a missing
// prepared statement (26) or portal (34), authentication (28), too many
// connections (53), an idle session closed (57).
const (
	InvalidStatementName     = "26000"
	InvalidAuthorizationSpec = "28000"
	InvalidPassword          = "28P01"
	InvalidCursorName        = "34000"
	TooManyConnections       = "53300"
	IdleSessionTimeout       = "57P05"
	SuccessfulCompletion     = "00000"
)

// Class 22: a value is wrong.
const (
	DataException         = "22000"
	CharacterNotInRepert  = "22021"
	InvalidParameterValue = "22023"
	InvalidTextRepr       = "22P02"
	InvalidBinaryRepr     = "22P03"
)

// Class 25 and 2B: transaction state, dependencies.
const (
	ReadOnlyTransaction = "25006"
	ActiveTransaction   = "25001"
	NoActiveTransaction = "25P01"
	InFailedTransaction = "25P02"
	DependentObjects    = "2BP01"
)

// Class 40: run the statement again.
const SerializationFailure = "40001"

// Class 3B: savepoint exception.
const InvalidSavepoint = "3B001"

// Class 42: syntax, names and access.
const (
	InsufficientPrivilege = "42501"
	SyntaxError           = "42601"
	InvalidName           = "42602"
	NameTooLong           = "42622"
	AmbiguousColumn       = "42702"
	UndefinedColumn       = "42703"
	UndefinedObject       = "42704"
	DuplicateObject       = "42710"
	WrongObjectType       = "42809"
	UndefinedFunction     = "42883"
	ReservedName          = "42939"
	UndefinedTable        = "42P01"
	UndefinedParameter    = "42P02"
)

// Classes 53 to 58: resources, limits, state, the system.
const (
	DiskFull             = "53100"
	OutOfMemory          = "53200"
	ProgramLimitExceeded = "54000"
	PrerequisiteState    = "55000"
	LockNotAvailable     = "55P03"
	QueryCanceled        = "57014"
	IOError              = "58030"
)

// Class XX: conncat's own failure.
const (
	Internal      = "XX000"
	DataCorrupted = "XX001"
)
