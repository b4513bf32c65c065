package conncat

import (
	"github.com/conncat/conncat/internal/panics"
	"github.com/conncat/conncat/internal/sqlstate"
)

// recoverStatement turns a panic while a statement runs into an XX000
// error, so that neither a bug in conncat nor a panic in engine code it
// calls (the clock, a credentials provider, a progress callback) brings
// down the engine's process. Transactions are rolled back by their own
// deferred rollbacks as the panic unwinds, so the statement is absent.
//
// The panic value may hold anything the panicking code had in hand,
// secrets included, so the error names only its type, except for a
// runtime error, whose text (an index, a nil dereference) never holds
// data. Where it happened goes in the detail, to make the report useful.
func recoverStatement(pos int, err *error) {
	v := recover()
	if v == nil {
		return
	}
	p := panics.Recovered(v)
	e := &Error{Code: sqlstate.Internal, Position: pos,
		Message: "internal error while running the statement: " + p.What(),
		Hint:    "The statement was not applied. This is a bug in conncat or in code the engine gave it; please report it with the detail."}
	if p.Site != "" {
		e.Detail = "panicked in " + p.Site
	}
	*err = e
}
