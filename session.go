package conncat

import (
	"context"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/sqlparse"
)

// Session runs the statements of one user's session: what a connection of
// the engine's own users is, and what BEGIN, COMMIT, ROLLBACK and
// SAVEPOINT act on. A Catalog is shared; a Session is not: use one from
// one goroutine at a time, and Close it when the user's connection ends
// (an open block is then rolled back).
//
// A transaction block holds no lock on the catalog between statements
// (see catalog.Block): DDL in it is tried at once, so errors come at the
// failing statement, and applied at COMMIT in one transaction, so either
// all of it lands or none. A failed statement puts the block in the
// failed state: everything but ROLLBACK [TO SAVEPOINT] then fails with
// 25P02, and COMMIT rolls back. VALIDATE inside a block checks the
// connection as the block leaves it, with no lock held while AWS answers,
// and its results are recorded at COMMIT; WITH (VALIDATE) is refused
// (25001). SELECT, SHOW and Describe see the block; a SELECT after its
// DDL holds the catalog's write lock, so it may run for at most 2 s.
type Session struct {
	c     *Catalog
	block *catalog.Block
	// implicit marks the block Exec opened around a script of several
	// statements, which it commits at the script's end.
	implicit bool
}

// NewSession starts a session on the catalog.
func (c *Catalog) NewSession() *Session { return &Session{c: c} }

// Transaction statuses, as PostgreSQL's ReadyForQuery reports them.
const (
	TxIdle   byte = 'I' // no block open
	TxInTx   byte = 'T' // in a transaction block
	TxFailed byte = 'E' // in a failed block: only ROLLBACK goes on
)

// TxStatus is the session's transaction status: TxIdle, TxInTx or TxFailed.
func (s *Session) TxStatus() byte {
	switch {
	case s.block == nil:
		return TxIdle
	case s.block.Failed():
		return TxFailed
	}
	return TxInTx
}

// InBlock reports whether a transaction block is open.
func (s *Session) InBlock() bool { return s.block != nil }

// Close rolls back an open block.
func (s *Session) Close() {
	if s.block != nil {
		s.block.Rollback()
		s.block, s.implicit = nil, false
	}
}

// Exec runs a script as Catalog.Exec does, in this session: a block the
// script leaves open stays open for the next call.
func (s *Session) Exec(ctx context.Context, script string, args ...any) (_ []*Result, err error) {
	defer recoverStatement(-1, &err)
	stmts, err := sqlparse.Parse(script)
	if err != nil {
		s.FailBlock() // as in PostgreSQL, a syntax error fails the block too
		return nil, err
	}
	if len(args) > 0 && len(stmts) > 1 {
		return nil, &Error{Code: CodeSyntaxError, Position: stmts[1].Pos(),
			Message: "cannot insert multiple commands into a prepared statement",
			Hint:    "Parameters ($1, ...) go with a script of one statement; run the others in their own call."}
	}
	results := make([]*Result, 0, len(stmts))
	for _, stmt := range stmts {
		if len(stmts) > 1 {
			s.StartImplicit()
		}
		r, err := s.ExecStatement(ctx, stmt, args...)
		if r != nil {
			results = append(results, r) // VALIDATE returns its rows with its error
		}
		if err != nil {
			s.EndImplicit(ctx, false)
			return results, locate(err, script)
		}
	}
	if err := s.EndImplicit(ctx, true); err != nil {
		return results, err
	}
	return results, nil
}

// ExecPiece parses and runs one piece of a script (see Split) in the
// session; error positions are offsets in script. A caller that runs a
// script's pieces itself brackets them with StartImplicit and EndImplicit
// to run them as one transaction, as Exec does.
func (s *Session) ExecPiece(ctx context.Context, script string, piece Piece) (_ *Result, err error) {
	defer recoverStatement(piece.Offset, &err)
	stmt, err := sqlparse.ParsePiece(script, piece)
	if err != nil {
		s.FailBlock()
		return nil, err
	}
	res, err := s.ExecStatement(ctx, stmt)
	if err != nil {
		return res, locate(err, script)
	}
	return res, nil
}

// StartImplicit opens the implicit block of a script of several
// statements, unless a block is open: the script's statements then commit
// together at EndImplicit, as PostgreSQL runs a query string.
func (s *Session) StartImplicit() {
	if s.block == nil {
		s.block, s.implicit = s.c.cat.Begin(false), true
	}
}

// EndImplicit ends the implicit block StartImplicit opened, if it is
// still open (a BEGIN in the script makes it explicit): commit when ok,
// roll back after an error. An explicit block stays open.
func (s *Session) EndImplicit(ctx context.Context, ok bool) error {
	if !s.implicit {
		return nil
	}
	if !ok {
		s.Close()
		return nil
	}
	_, err := s.commit(ctx, nil)
	return err
}

// FailBlock puts the open block, if any, in the failed state: for an error
// of a statement the caller answered itself (a server's SET), which fails
// a PostgreSQL transaction as any error does.
func (s *Session) FailBlock() {
	if s.block != nil {
		s.block.Fail()
	}
}

// ExecStatement runs one parsed statement in the session, with the values
// of its parameters if it is a SELECT that has them.
func (s *Session) ExecStatement(ctx context.Context, stmt Statement, args ...any) (res *Result, err error) {
	if t, ok := stmt.(*sqlparse.Transaction); ok {
		return s.control(ctx, t)
	}
	if s.block == nil {
		return s.c.ExecStatement(ctx, stmt, args...)
	}
	res, err = s.c.execStatement(ctx, s.block, stmt, args...)
	if err != nil {
		s.block.Fail()
	}
	return res, err
}

// Describe is Catalog.Describe as the session sees the catalog: with the
// DDL of its open block.
func (s *Session) Describe(ctx context.Context, name string) (_ *Description, err error) {
	if s.block == nil {
		return s.c.Describe(ctx, name)
	}
	defer func() { err = coded(ctx, err, -1) }()
	if s.c.closed.Load() {
		return nil, errDBClosed
	}
	return s.block.Describe(ctx, name)
}

// control runs a transaction statement.
func (s *Session) control(ctx context.Context, t *sqlparse.Transaction) (res *Result, err error) {
	defer func() { err = coded(ctx, err, t.Pos()) }()
	if s.c.closed.Load() {
		return nil, errDBClosed
	}
	switch t.Kind {
	case sqlparse.TxBegin:
		return s.begin(t)
	case sqlparse.TxCommit:
		return s.commit(ctx, t)
	case sqlparse.TxRollback:
		if s.block == nil {
			return noBlock("ROLLBACK"), nil
		}
		s.Close()
		return &Result{Tag: "ROLLBACK"}, nil
	}
	if s.block == nil || s.implicit {
		return nil, &Error{Code: CodeNoActiveTransaction, Position: t.Pos(),
			Message: string(t.Kind) + " can only be used in transaction blocks",
			Hint:    "BEGIN a block first."}
	}
	tag := string(t.Kind)
	switch t.Kind {
	case sqlparse.TxSavepoint:
		err = s.block.Savepoint(t)
	case sqlparse.TxRelease:
		tag, err = "RELEASE", s.block.Release(t)
	case sqlparse.TxRollbackTo:
		tag, err = "ROLLBACK", s.block.RollbackTo(t)
	}
	if err != nil {
		return nil, err
	}
	return &Result{Tag: tag}, nil
}

func (s *Session) begin(t *sqlparse.Transaction) (*Result, error) {
	res := &Result{Tag: "BEGIN"}
	switch {
	case s.block == nil:
		s.block = s.c.cat.Begin(t.ReadOnly)
	case s.implicit:
		s.implicit = false // BEGIN inside a script makes its block explicit, as in PostgreSQL
	case s.block.Failed():
		return nil, &Error{Code: CodeInFailedTransaction, Position: t.Pos(),
			Message: "current transaction is aborted, commands ignored until end of transaction block",
			Hint:    "ROLLBACK (or ROLLBACK TO SAVEPOINT) to go on."}
	default:
		res.Notices = []string{"there is already a transaction in progress"}
	}
	return res, nil
}

// commit ends the open block: COMMIT, or ROLLBACK if it failed. t is nil
// for the implicit block of a script.
func (s *Session) commit(ctx context.Context, t *sqlparse.Transaction) (res *Result, err error) {
	if s.block == nil {
		return noBlock("COMMIT"), nil
	}
	block := s.block
	s.block, s.implicit = nil, false
	ctx, cancel := s.c.statementContext(ctx)
	defer cancel()
	pos := -1
	if t != nil {
		pos = t.Pos()
	} else {
		t = &sqlparse.Transaction{Kind: sqlparse.TxCommit} // what the log names
	}
	defer func() { err = coded(ctx, err, pos) }()
	defer recoverStatement(pos, &err)
	applied := block.Statements()
	if res, err = block.Commit(ctx); err != nil {
		return nil, err
	}
	if res.Tag == "COMMIT" {
		for _, stmt := range applied {
			s.c.events.applied(stmt, &Result{Tag: catalog.CommandTag(stmt)})
		}
	}
	s.c.applied(t, res)
	return res, nil
}

// noBlock answers COMMIT or ROLLBACK outside a block as PostgreSQL does:
// a warning, no error.
func noBlock(tag string) *Result {
	return &Result{Tag: tag, Notices: []string{"there is no transaction in progress"}}
}
