package sqlparse

import (
	"strings"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

// Grantee is a role named in GRANT or REVOKE, or PUBLIC (every role).
type Grantee struct {
	Name   Name
	Public bool
}

// String is the grantee as written back: PUBLIC, or the quoted-as-needed
// role name.
func (g Grantee) String() string {
	if g.Public {
		return "PUBLIC"
	}
	return QuoteIdent(g.Name.Value)
}

// Grant is GRANT USAGE ON {CONNECTION | SECRET} name [, ...] TO grantee
// [, ...], or ON ALL CONNECTIONS / ALL SECRETS, and REVOKE ... FROM.
type Grant struct {
	Revoke bool
	Kind   ObjectKind
	// All is ALL CONNECTIONS or ALL SECRETS: every such object the role
	// may grant on, as it is now (not those made later).
	All      bool
	Names    []Name
	Grantees []Grantee
	pos      int
}

// AlterOwner is ALTER {CONNECTION | SECRET} [IF EXISTS] name OWNER TO role.
type AlterOwner struct {
	Kind     ObjectKind
	IfExists bool
	Name     Name
	Owner    Name
	pos      int
}

func (s *Grant) Pos() int                   { return s.pos }
func (s *AlterOwner) Pos() int              { return s.pos }
func (*Grant) statement()                   {}
func (*AlterOwner) statement()              {}
func (s *Grant) String() string             { return s.canonical() }
func (s *Grant) UnredactedSQL() string      { return s.canonical() }
func (s *AlterOwner) String() string        { return s.canonical() }
func (s *AlterOwner) UnredactedSQL() string { return s.canonical() }

func (s *Grant) canonical() string {
	var b strings.Builder
	verb, prep := "GRANT", " TO "
	if s.Revoke {
		verb, prep = "REVOKE", " FROM "
	}
	b.WriteString(verb + " USAGE ON ")
	if s.All {
		b.WriteString("ALL " + string(s.Kind) + "S")
	} else {
		b.WriteString(string(s.Kind) + " ")
		for i, n := range s.Names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(QuoteIdent(n.Value))
		}
	}
	b.WriteString(prep)
	for i, g := range s.Grantees {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(g.String())
	}
	return b.String()
}

func (s *AlterOwner) canonical() string {
	ifExists := ""
	if s.IfExists {
		ifExists = "IF EXISTS "
	}
	return "ALTER " + string(s.Kind) + " " + ifExists + QuoteIdent(s.Name.Value) + " OWNER TO " + QuoteIdent(s.Owner.Value)
}

// grant parses the rest of GRANT (revoke false) or REVOKE.
func (p *parser) grant(pos int, revoke bool) (Statement, *sqlerror.Error) {
	s := &Grant{Revoke: revoke, pos: pos}
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	switch {
	case isWord(t, "usage"):
	case isWord(t, "all"):
		if _, err := p.acceptWord("privileges"); err != nil {
			return nil, err
		}
	default:
		return nil, sqlerror.New(sqlstate.FeatureNotSupported, t.pos, "%s cannot be granted on connections and secrets", describe(t)).
			WithHint("USAGE is the privilege there is: it lets a role use a connection or a secret; ALTER, DROP and GRANT need ownership.")
	}
	if err := p.expectWords("on"); err != nil {
		return nil, err
	}
	if err := p.grantObjects(s); err != nil {
		return nil, err
	}
	prep := "to"
	if revoke {
		prep = "from"
	}
	if err := p.expectWords(prep); err != nil {
		return nil, err
	}
	for {
		g, err := p.grantee()
		if err != nil {
			return nil, err
		}
		s.Grantees = append(s.Grantees, g)
		if ok, err := p.acceptPunct(","); err != nil {
			return nil, err
		} else if !ok {
			return s, p.expectEnd()
		}
	}
}

// grantObjects parses CONNECTION name [, ...], SECRET name [, ...], ALL
// CONNECTIONS or ALL SECRETS.
func (p *parser) grantObjects(s *Grant) *sqlerror.Error {
	t, err := p.next()
	if err != nil {
		return err
	}
	switch {
	case isWord(t, "all"):
		s.All = true
		u, err := p.next()
		if err != nil {
			return err
		}
		switch {
		case isWord(u, "connections"):
			s.Kind = ObjectConnection
		case isWord(u, "secrets"):
			s.Kind = ObjectSecret
		default:
			return p.unexpected(u, "CONNECTIONS or SECRETS")
		}
		return nil
	case isWord(t, "connection"):
		s.Kind = ObjectConnection
	case isWord(t, "secret"):
		s.Kind = ObjectSecret
	default:
		return p.unexpected(t, "CONNECTION, SECRET, ALL CONNECTIONS or ALL SECRETS")
	}
	for {
		n, err := p.name("a name")
		if err != nil {
			return err
		}
		s.Names = append(s.Names, n)
		if ok, err := p.acceptPunct(","); err != nil || !ok {
			return err
		}
	}
}

// grantee parses a role name or PUBLIC (unquoted: "public" quoted is a
// role of that name).
func (p *parser) grantee() (Grantee, *sqlerror.Error) {
	t, err := p.peek()
	if err != nil {
		return Grantee{}, err
	}
	if isWord(t, "public") {
		p.peeked = false
		return Grantee{Public: true, Name: Name{Pos: t.pos}}, nil
	}
	n, err := p.roleName("a role's name or PUBLIC")
	return Grantee{Name: n}, err
}

// roleName parses a role's name. "public" is reserved, as in PostgreSQL:
// written unquoted it means every role.
func (p *parser) roleName(what string) (Name, *sqlerror.Error) {
	n, err := p.name(what)
	if err == nil && n.Value == "public" {
		return n, sqlerror.New(sqlstate.ReservedName, n.Pos, "role name \"public\" is reserved").
			WithHint("PUBLIC, unquoted, means every role.")
	}
	return n, err
}

// ownerTo parses the role after OWNER TO.
func (p *parser) ownerTo(s *AlterOwner) (Statement, *sqlerror.Error) {
	if err := p.expectWords("to"); err != nil {
		return nil, err
	}
	n, err := p.roleName("the new owner's role name")
	if err != nil {
		return nil, err
	}
	s.Owner = n
	return s, p.expectEnd()
}
