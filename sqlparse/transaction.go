package sqlparse

import (
	"strings"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

// TransactionKind is what a transaction control statement does.
type TransactionKind string

// The transaction control statements, by their canonical words.
const (
	TxBegin      TransactionKind = "BEGIN"
	TxCommit     TransactionKind = "COMMIT"
	TxRollback   TransactionKind = "ROLLBACK"
	TxSavepoint  TransactionKind = "SAVEPOINT"
	TxRelease    TransactionKind = "RELEASE SAVEPOINT"
	TxRollbackTo TransactionKind = "ROLLBACK TO SAVEPOINT"
)

// Transaction is a transaction control statement, in PostgreSQL's
// spellings: BEGIN [WORK | TRANSACTION] [mode, ...], START TRANSACTION
// [mode, ...], COMMIT | END [WORK | TRANSACTION] [AND NO CHAIN], ROLLBACK |
// ABORT [WORK | TRANSACTION] [AND NO CHAIN], SAVEPOINT name, RELEASE
// [SAVEPOINT] name, ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name.
type Transaction struct {
	Kind TransactionKind
	// Savepoint names the savepoint of SAVEPOINT, RELEASE and ROLLBACK TO.
	Savepoint Name
	// Isolation is the ISOLATION LEVEL BEGIN asked for, upper case, or "".
	Isolation string
	// ReadOnly is set by BEGIN ... READ ONLY: the block refuses DDL.
	ReadOnly bool
	// Deferrable is DEFERRABLE or NOT DEFERRABLE as written, or "".
	Deferrable string
	pos        int
}

func (s *Transaction) Pos() int              { return s.pos }
func (*Transaction) statement()              {}
func (s *Transaction) String() string        { return canonicalTransaction(s) }
func (s *Transaction) UnredactedSQL() string { return canonicalTransaction(s) }

func canonicalTransaction(s *Transaction) string {
	var b strings.Builder
	b.WriteString(string(s.Kind))
	if s.Savepoint.Value != "" {
		b.WriteByte(' ')
		b.WriteString(QuoteIdent(s.Savepoint.Value))
	}
	if modes := transactionModes(s); len(modes) > 0 {
		b.WriteByte(' ')
		b.WriteString(strings.Join(modes, ", "))
	}
	return b.String()
}

func transactionModes(s *Transaction) []string {
	var modes []string
	if s.Isolation != "" {
		modes = append(modes, "ISOLATION LEVEL "+s.Isolation)
	}
	if s.ReadOnly {
		modes = append(modes, "READ ONLY")
	}
	if s.Deferrable != "" {
		modes = append(modes, s.Deferrable)
	}
	return modes
}

// transaction parses a statement that starts with one of the transaction
// words (its first token, already consumed, is first).
func (p *parser) transaction(first token) (Statement, *sqlerror.Error) {
	switch {
	case isWord(first, "begin"):
		if _, err := p.acceptOneOf("work", "transaction"); err != nil {
			return nil, err
		}
		return p.transactionModes(&Transaction{Kind: TxBegin, pos: first.pos})
	case isWord(first, "start"):
		if err := p.expectWords("transaction"); err != nil {
			return nil, err
		}
		return p.transactionModes(&Transaction{Kind: TxBegin, pos: first.pos})
	case isWord(first, "commit"), isWord(first, "end"):
		return p.transactionEnd(&Transaction{Kind: TxCommit, pos: first.pos}, false)
	case isWord(first, "rollback"):
		return p.transactionEnd(&Transaction{Kind: TxRollback, pos: first.pos}, true)
	case isWord(first, "abort"):
		return p.transactionEnd(&Transaction{Kind: TxRollback, pos: first.pos}, false)
	case isWord(first, "savepoint"):
		return p.savepointName(&Transaction{Kind: TxSavepoint, pos: first.pos})
	case isWord(first, "release"):
		if _, err := p.acceptWord("savepoint"); err != nil {
			return nil, err
		}
		return p.savepointName(&Transaction{Kind: TxRelease, pos: first.pos})
	}
	return nil, p.unexpected(first, "a transaction statement")
}

// isTransactionWord reports whether t starts a transaction statement.
func isTransactionWord(t token) bool {
	for _, w := range []string{"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"} {
		if isWord(t, w) {
			return true
		}
	}
	return false
}

// acceptOneOf consumes the next token if it is one of words.
func (p *parser) acceptOneOf(words ...string) (bool, *sqlerror.Error) {
	for _, w := range words {
		if ok, err := p.acceptWord(w); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// transactionEnd parses the rest of COMMIT, END, ROLLBACK or ABORT; after
// ROLLBACK (toAllowed), TO [SAVEPOINT] name makes it ROLLBACK TO.
func (p *parser) transactionEnd(s *Transaction, toAllowed bool) (Statement, *sqlerror.Error) {
	if _, err := p.acceptOneOf("work", "transaction"); err != nil {
		return nil, err
	}
	if toAllowed {
		if ok, err := p.acceptWord("to"); err != nil {
			return nil, err
		} else if ok {
			if _, err := p.acceptWord("savepoint"); err != nil {
				return nil, err
			}
			s.Kind = TxRollbackTo
			return p.savepointName(s)
		}
	}
	if ok, err := p.acceptWord("and"); err != nil || !ok {
		return s, orEnd(p, err)
	}
	no, err := p.acceptWord("no")
	if err != nil {
		return nil, err
	}
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if !isWord(t, "chain") {
		return nil, p.unexpected(t, "CHAIN")
	}
	if !no {
		return nil, sqlerror.New(sqlstate.FeatureNotSupported, t.pos, "%s AND CHAIN is not supported", s.Kind).
			WithHint("End the block, then BEGIN a new one.")
	}
	return s, p.expectEnd()
}

// orEnd is err, or the check that the statement ends here.
func orEnd(p *parser, err *sqlerror.Error) *sqlerror.Error {
	if err != nil {
		return err
	}
	return p.expectEnd()
}

func (p *parser) savepointName(s *Transaction) (Statement, *sqlerror.Error) {
	n, err := p.name("the savepoint's name")
	if err != nil {
		return nil, err
	}
	s.Savepoint = n
	return s, p.expectEnd()
}

// transactionModes parses BEGIN's modes, separated by commas or spaces as
// PostgreSQL accepts them.
func (p *parser) transactionModes(s *Transaction) (Statement, *sqlerror.Error) {
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch {
		case t.kind == tokEOF:
			return s, nil
		case isPunct(t, ","):
			continue
		case isWord(t, "isolation"):
			if s.Isolation, err = p.isolationLevel(); err != nil {
				return nil, err
			}
		case isWord(t, "read"):
			if s.ReadOnly, err = p.readMode(); err != nil {
				return nil, err
			}
		case isWord(t, "deferrable"):
			s.Deferrable = "DEFERRABLE"
		case isWord(t, "not"):
			if err := p.expectWords("deferrable"); err != nil {
				return nil, err
			}
			s.Deferrable = "NOT DEFERRABLE"
		default:
			return nil, p.unexpected(t, "ISOLATION LEVEL, READ WRITE, READ ONLY, DEFERRABLE or end of statement")
		}
	}
}

// isolationLevel parses LEVEL and the level's words after ISOLATION.
func (p *parser) isolationLevel() (string, *sqlerror.Error) {
	if err := p.expectWords("level"); err != nil {
		return "", err
	}
	t, err := p.next()
	if err != nil {
		return "", err
	}
	switch {
	case isWord(t, "serializable"):
		return "SERIALIZABLE", nil
	case isWord(t, "repeatable"):
		return "REPEATABLE READ", p.expectWords("read")
	case isWord(t, "read"):
		u, err := p.next()
		if err != nil {
			return "", err
		}
		switch {
		case isWord(u, "committed"):
			return "READ COMMITTED", nil
		case isWord(u, "uncommitted"):
			return "READ UNCOMMITTED", nil
		}
		return "", p.unexpected(u, "COMMITTED or UNCOMMITTED")
	}
	return "", p.unexpected(t, "SERIALIZABLE, REPEATABLE READ, READ COMMITTED or READ UNCOMMITTED")
}

// readMode parses WRITE or ONLY after READ and reports read-only.
func (p *parser) readMode() (bool, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return false, err
	}
	switch {
	case isWord(t, "only"):
		return true, nil
	case isWord(t, "write"):
		return false, nil
	}
	return false, p.unexpected(t, "WRITE or ONLY")
}
