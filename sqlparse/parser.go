// Package sqlparse parses conncat's SQL dialect: CREATE / ALTER / DROP
// SECRET and CONNECTION, VALIDATE CONNECTION, the SHOW statements, and
// read-only SELECT queries over the catalog tables (delegated to the TiDB
// parser and gated, see Query).
//
// Parsing is complete: every rule that needs no catalog is applied here,
// values included (through connection's value rules), and every error is an
// *sqlerror.Error with a SQLSTATE and the byte position of the offending token.
// Printing is safe: String() never shows a secret literal, UnredactedSQL()
// is the one way to get one back.
//
//	stmts, err := sqlparse.Parse(`CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R')`)
package sqlparse

import (
	"errors"
	"strconv"
	"strings"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

// Parse parses a script of statements separated by ';'. It stops at the
// first error; to report every bad statement and go on, use Split and
// ParsePiece.
func Parse(script string) ([]Statement, error) {
	if len(script) > MaxScriptLen {
		return nil, finish(script, sqlerror.New(sqlstate.ProgramLimitExceeded, -1, "script is longer than %d bytes", MaxScriptLen))
	}
	pieces := Split(script)
	stmts := make([]Statement, 0, len(pieces))
	for _, p := range pieces {
		s, err := ParsePiece(script, p)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, s)
	}
	return stmts, nil
}

// ParseOne parses exactly one statement (a trailing ';' is allowed).
func ParseOne(sql string) (Statement, error) {
	if len(sql) > MaxScriptLen {
		return nil, finish(sql, sqlerror.New(sqlstate.ProgramLimitExceeded, -1, "statement is longer than %d bytes", MaxScriptLen))
	}
	pieces := Split(sql)
	switch len(pieces) {
	case 0:
		return nil, finish(sql, sqlerror.New(sqlstate.SyntaxError, len(sql), "empty statement"))
	case 1:
		return ParsePiece(sql, pieces[0])
	default:
		return nil, finish(sql, sqlerror.New(sqlstate.SyntaxError, pieces[1].Offset, "expected one statement, found %d", len(pieces)).
			WithHint("Use Parse for scripts of several statements."))
	}
}

// ParsePiece parses one piece of script as returned by Split. Positions in
// the statement and in errors are offsets in script.
func ParsePiece(script string, piece Piece) (Statement, error) {
	if len(piece.Text) > MaxScriptLen {
		return nil, finish(script, sqlerror.New(sqlstate.ProgramLimitExceeded, piece.Offset, "statement is longer than %d bytes", MaxScriptLen))
	}
	end := piece.Offset + len(piece.Text)
	p := &parser{src: script, lex: lexer{src: script[:end], pos: piece.Offset}}
	stmt, err := p.statement(piece)
	if err != nil {
		return nil, finish(script, err)
	}
	return stmt, nil
}

// finish fills in line and column. The return type is error so that a nil
// *sqlerror.Error never becomes a non-nil error.
func finish(src string, e *sqlerror.Error) error {
	if e == nil {
		return nil
	}
	e.Line, e.Column = sqlerror.LineCol(src, e.Position)
	return e
}

type parser struct {
	src    string
	lex    lexer
	tok    token // current token, valid when peeked
	peeked bool
}

func (p *parser) peek() (token, *sqlerror.Error) {
	if !p.peeked {
		t, err := p.lex.next()
		if err != nil {
			return token{}, err
		}
		p.tok, p.peeked = t, true
	}
	return p.tok, nil
}

func (p *parser) next() (token, *sqlerror.Error) {
	t, err := p.peek()
	p.peeked = false
	return t, err
}

// isWord reports whether t is the unquoted word w (w in lower case).
func isWord(t token, w string) bool {
	return t.kind == tokIdent && len(t.text) == len(w) && strings.EqualFold(t.text, w)
}

func isPunct(t token, s string) bool { return t.kind == tokPunct && t.text == s }

// acceptWord consumes the next token if it is the word w.
func (p *parser) acceptWord(w string) (bool, *sqlerror.Error) {
	t, err := p.peek()
	if err != nil {
		return false, err
	}
	if isWord(t, w) {
		p.peeked = false
		return true, nil
	}
	return false, nil
}

func (p *parser) acceptPunct(s string) (bool, *sqlerror.Error) {
	t, err := p.peek()
	if err != nil {
		return false, err
	}
	if isPunct(t, s) {
		p.peeked = false
		return true, nil
	}
	return false, nil
}

// expectWords consumes the given words in order.
func (p *parser) expectWords(words ...string) *sqlerror.Error {
	for _, w := range words {
		t, err := p.next()
		if err != nil {
			return err
		}
		if !isWord(t, w) {
			return p.unexpected(t, strings.ToUpper(w))
		}
	}
	return nil
}

func (p *parser) expectPunct(s string) *sqlerror.Error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if !isPunct(t, s) {
		return p.unexpected(t, "\""+s+"\"")
	}
	return nil
}

// describe names a token for an error message. String literals are never
// quoted back: they may be secrets.
func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return "a string literal"
	case tokQuotedIdent:
		return "identifier " + QuoteIdent(t.text)
	case tokNumber:
		return "number " + t.text
	case tokIdent:
		return strings.ToUpper(t.text)
	default:
		return "\"" + t.text + "\""
	}
}

// describeValue names a token found where a value belongs by its kind
// alone: a secret typed without quotes must not come back in the message.
func describeValue(t token) string {
	switch t.kind {
	case tokQuotedIdent:
		return "a quoted identifier"
	case tokNumber:
		return "a number"
	case tokIdent:
		return "a bare word"
	}
	return describe(t) // end of input, a string literal, punctuation
}

// unexpectedValue is unexpected for a token in a value position. A
// double-quoted value is a name to SQL: the hint says to use single quotes.
func (p *parser) unexpectedValue(t token, want string) *sqlerror.Error {
	e := syntaxErrorAt(t, describeValue(t), want)
	if t.kind == tokQuotedIdent {
		e.Hint = "Strings go in single quotes ('...'); double quotes make a name."
	}
	return e
}

func (p *parser) unexpected(t token, want string) *sqlerror.Error {
	return syntaxErrorAt(t, describe(t), want)
}

func syntaxErrorAt(t token, described, want string) *sqlerror.Error {
	if want == "" {
		return sqlerror.New(sqlstate.SyntaxError, t.pos, "syntax error at or near %s", described)
	}
	return sqlerror.New(sqlstate.SyntaxError, t.pos, "syntax error at or near %s: expected %s", described, want)
}

// expectEnd checks that the statement has no trailing tokens.
func (p *parser) expectEnd() *sqlerror.Error { return p.expectEndOr(p.unexpected) }

// expectEndAfterValue is expectEnd after a secret's value, where what
// follows may be the rest of a value typed without quotes.
func (p *parser) expectEndAfterValue() *sqlerror.Error { return p.expectEndOr(p.unexpectedValue) }

func (p *parser) expectEndOr(unexpected func(token, string) *sqlerror.Error) *sqlerror.Error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if t.kind != tokEOF {
		e := unexpected(t, "end of statement")
		if startsStatement(t) && p.newLineBefore(t) {
			e.Hint = "Is a ';' missing at the end of the line before?"
		}
		return e
	}
	return nil
}

// startsStatement reports whether t is a word a statement begins with.
func startsStatement(t token) bool {
	for _, w := range []string{"create", "alter", "drop", "validate", "show", "select", "with", "grant", "revoke", "begin", "commit", "rollback"} {
		if isWord(t, w) {
			return true
		}
	}
	return false
}

// newLineBefore reports whether only blanks separate t from the start of
// its line in the statement's text.
func (p *parser) newLineBefore(t token) bool {
	i := t.pos
	for i > 0 && i <= len(p.src) && (p.src[i-1] == ' ' || p.src[i-1] == '\t' || p.src[i-1] == '\r') {
		i--
	}
	return i > 0 && i <= len(p.src) && p.src[i-1] == '\n'
}

// name reads an identifier (bare or quoted).
func (p *parser) name(what string) (Name, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return Name{}, err
	}
	if t.kind != tokIdent && t.kind != tokQuotedIdent {
		return Name{}, p.unexpected(t, what)
	}
	return Name{Value: t.folded(), Pos: t.pos}, nil
}

// str reads a string literal.
func (p *parser) str(what string) (token, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return token{}, err
	}
	if t.kind != tokString {
		return token{}, p.unexpectedValue(t, what)
	}
	return t, nil
}

// unsupported lists statements people will try, with what to do instead.
var unsupported = map[string]string{
	"insert":  "The catalog is changed only through CREATE, ALTER and DROP.",
	"update":  "The catalog is changed only through CREATE, ALTER and DROP.",
	"delete":  "The catalog is changed only through CREATE, ALTER and DROP.",
	"replace": "The catalog is changed only through CREATE, ALTER and DROP.",
	"attach":  "Only the catalog's own tables can be queried.",
	"detach":  "Only the catalog's own tables can be queried.",
	"pragma":  "Only the catalog's own tables can be queried.",
	"vacuum":  "",
	"explain": "",
	"values":  "Use SELECT.",
	"table":   "Use SELECT * FROM.",
}

func (p *parser) statement(piece Piece) (Statement, *sqlerror.Error) {
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if isPunct(t, "(") || isWord(t, "select") || isWord(t, "with") {
		return parseQuery(piece)
	}
	p.peeked = false
	switch {
	case isWord(t, "create"):
		return p.create(t.pos)
	case isWord(t, "alter"):
		return p.alter(t.pos)
	case isWord(t, "drop"):
		return p.drop(t.pos)
	case isWord(t, "validate"):
		return p.validate(t.pos)
	case isWord(t, "show"):
		return p.show(t.pos)
	case isTransactionWord(t):
		return p.transaction(t)
	case isWord(t, "grant"), isWord(t, "revoke"):
		return p.grant(t.pos, isWord(t, "revoke"))
	}
	if hint, ok := unsupported[strings.ToLower(t.text)]; ok && t.kind == tokIdent {
		return nil, sqlerror.New(sqlstate.FeatureNotSupported, t.pos, "%s is not supported", strings.ToUpper(t.text)).WithHint(hint)
	}
	return nil, p.unexpected(t, "CREATE, ALTER, DROP, VALIDATE, SHOW or SELECT")
}

func (p *parser) create(pos int) (Statement, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	switch {
	case isWord(t, "secret"):
		return p.createSecret(pos)
	case isWord(t, "connection"):
		return p.createConnection(pos)
	}
	return nil, p.unexpected(t, "SECRET or CONNECTION")
}

func (p *parser) alter(pos int) (Statement, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	switch {
	case isWord(t, "secret"):
		return p.alterSecret(pos)
	case isWord(t, "connection"):
		return p.alterConnection(pos)
	}
	return nil, p.unexpected(t, "SECRET or CONNECTION")
}

// ifNotExists parses an optional IF NOT EXISTS. A name that is the bare
// word "if" is not possible here: it always starts the clause.
func (p *parser) ifNotExists() (bool, *sqlerror.Error) {
	ok, err := p.acceptWord("if")
	if err != nil || !ok {
		return false, err
	}
	return true, p.expectWords("not", "exists")
}

func (p *parser) ifExists() (bool, *sqlerror.Error) {
	ok, err := p.acceptWord("if")
	if err != nil || !ok {
		return false, err
	}
	return true, p.expectWords("exists")
}

// secretValue parses AS 'value' or = 'value'.
func (p *parser) secretValue() (Secret, int, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return Secret{}, 0, err
	}
	if !isWord(t, "as") && !isPunct(t, "=") {
		return Secret{}, 0, p.unexpectedValue(t, "AS")
	}
	v, err := p.str("the secret's value as a string literal")
	if err != nil {
		return Secret{}, 0, err
	}
	return NewSecret(v.text), v.pos, nil
}

func (p *parser) createSecret(pos int) (Statement, *sqlerror.Error) {
	s := &CreateSecret{pos: pos}
	var err *sqlerror.Error
	if s.IfNotExists, err = p.ifNotExists(); err != nil {
		return nil, err
	}
	if s.Name, err = p.name("the secret's name"); err != nil {
		return nil, err
	}
	if s.Value, s.ValuePos, err = p.secretValue(); err != nil {
		return nil, err
	}
	return s, p.expectEndAfterValue()
}

func (p *parser) alterSecret(pos int) (Statement, *sqlerror.Error) {
	s := &AlterSecret{pos: pos}
	var err *sqlerror.Error
	var owner bool
	if s.IfExists, s.Name, s.RenameTo, owner, err = p.alterTarget("the secret's name"); err != nil {
		return nil, err
	}
	if owner {
		return p.ownerTo(&AlterOwner{Kind: ObjectSecret, IfExists: s.IfExists, Name: s.Name, pos: pos})
	}
	if s.RenameTo != nil {
		return s, nil
	}
	if s.Value, _, err = p.secretValue(); err != nil {
		return nil, err
	}
	return s, p.expectEndAfterValue()
}

func (p *parser) drop(pos int) (Statement, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	s := &Drop{pos: pos}
	switch {
	case isWord(t, "secret"):
		s.Kind = ObjectSecret
	case isWord(t, "connection"):
		s.Kind = ObjectConnection
	default:
		return nil, p.unexpected(t, "SECRET or CONNECTION")
	}
	if s.IfExists, err = p.ifExists(); err != nil {
		return nil, err
	}
	for {
		n, err := p.name("a name")
		if err != nil {
			return nil, err
		}
		s.Names = append(s.Names, n)
		if ok, err := p.acceptPunct(","); err != nil {
			return nil, err
		} else if !ok {
			break
		}
	}
	t, err = p.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case isWord(t, "cascade"):
		s.Cascade, p.peeked = true, false
	case isWord(t, "restrict"):
		p.peeked = false
	}
	return s, p.expectEnd()
}

func (p *parser) createConnection(pos int) (Statement, *sqlerror.Error) {
	s := &CreateConnection{pos: pos}
	var err *sqlerror.Error
	if s.IfNotExists, err = p.ifNotExists(); err != nil {
		return nil, err
	}
	if s.Name, err = p.name("the connection's name"); err != nil {
		return nil, err
	}
	if err := p.expectWords("to"); err != nil {
		return nil, err
	}
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	var allowed []connection.Option
	switch {
	case isWord(t, "aws"):
		s.Type, allowed = ConnectionAWS, connection.OptionsIn(connection.ScopeAWS)
	case isWord(t, "s3"):
		s.Type, allowed = ConnectionS3, connection.OptionsIn(connection.ScopeS3)
	case t.kind == tokIdent:
		return nil, sqlerror.New(sqlstate.FeatureNotSupported, t.pos, "connections to %s are not supported", strings.ToUpper(t.text)).
			WithHint("conncat supports connections TO AWS and TO S3.")
	default:
		return nil, p.unexpected(t, "AWS or S3")
	}
	open, err := p.peek()
	if err != nil {
		return nil, err
	}
	if s.Options, err = p.optionList(allowed); err != nil {
		return nil, err
	}
	switch s.Type {
	case ConnectionAWS:
		if rerr := connection.CheckAuthForm(s.Options.Has); rerr != nil {
			return nil, ValueError(open.pos, "", rerr)
		}
	case ConnectionS3:
		if !s.Options.Has(connection.Prefix) {
			return nil, sqlerror.New(sqlstate.SyntaxError, open.pos, "an S3 connection requires PREFIX").
				WithHint("Write TO S3 (PREFIX = 's3://bucket/prefix/') USING AWS CONNECTION name.")
		}
		if err := p.expectWords("using", "aws", "connection"); err != nil {
			return nil, err.WithHint("An S3 connection takes its credentials from an AWS connection: add USING AWS CONNECTION name.")
		}
		n, err := p.name("the AWS connection's name")
		if err != nil {
			return nil, err
		}
		s.UsingAWS = &n
	}
	if s.Validate, err = p.withValidate(); err != nil {
		return nil, err
	}
	return s, p.expectEnd()
}

// alterTarget parses what every ALTER starts with: [IF EXISTS] name, and
// a whole RENAME TO new_name statement (renameTo set, end checked).
func (p *parser) alterTarget(what string) (ifExists bool, name Name, renameTo *Name, owner bool, err *sqlerror.Error) {
	if ifExists, err = p.ifExists(); err != nil {
		return
	}
	if name, err = p.name(what); err != nil {
		return
	}
	if owner, err = p.acceptWord("owner"); err != nil || owner {
		return
	}
	ok, err := p.acceptWord("rename")
	if err != nil || !ok {
		return
	}
	if err = p.expectWords("to"); err != nil {
		return
	}
	n, err := p.name("the new name")
	if err != nil {
		return
	}
	return ifExists, name, &n, false, p.expectEnd()
}

func (p *parser) alterConnection(pos int) (Statement, *sqlerror.Error) {
	s := &AlterConnection{pos: pos}
	var err *sqlerror.Error
	var owner bool
	if s.IfExists, s.Name, s.RenameTo, owner, err = p.alterTarget("the connection's name"); err != nil {
		return nil, err
	}
	if owner {
		return p.ownerTo(&AlterOwner{Kind: ObjectConnection, IfExists: s.IfExists, Name: s.Name, pos: pos})
	}
	if s.RenameTo != nil {
		return s, nil
	}
	seen := map[connection.Option]bool{}
	for {
		kind, err := p.alterKind(len(s.Actions) == 0)
		if err != nil {
			return nil, err
		}
		actions, err := p.alterActionList(kind, seen)
		if err != nil {
			return nil, err
		}
		s.Actions = append(s.Actions, actions...)
		if ok, err := p.acceptPunct(","); err != nil {
			return nil, err
		} else if !ok {
			break
		}
	}
	if s.Validate, err = p.withValidate(); err != nil {
		return nil, err
	}
	return s, p.expectEnd()
}

// alterKind reads SET, DROP or RESET (first: RENAME TO was possible too).
func (p *parser) alterKind(first bool) (AlterKind, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return "", err
	}
	switch {
	case isWord(t, "set"):
		return AlterSet, nil
	case isWord(t, "drop"):
		return AlterDrop, nil
	case isWord(t, "reset"):
		return AlterReset, nil
	case first:
		return "", p.unexpected(t, "SET, DROP, RESET or RENAME TO")
	}
	return "", p.unexpected(t, "SET, DROP or RESET")
}

// alterActionList parses ( option [, ...] ) after SET, or ( name [, ...] )
// after DROP and RESET. Every option an ALTER may name is allowed: the
// catalog checks it against the connection's type, which only it knows.
func (p *parser) alterActionList(kind AlterKind, seen map[connection.Option]bool) ([]AlterAction, *sqlerror.Error) {
	allowed := connection.OptionsIn(connection.ScopeAWS, connection.ScopeS3)
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var actions []AlterAction
	for {
		var o Option
		var err *sqlerror.Error
		if kind == AlterSet {
			o, err = p.option(allowed)
		} else {
			o.Name, o.Pos, err = p.optionName(allowed)
			o.ValuePos = o.Pos
		}
		if err != nil {
			return nil, err
		}
		if seen[o.Name] {
			return nil, sqlerror.New(sqlstate.SyntaxError, o.Pos, "option %s is given more than once", o.Name)
		}
		seen[o.Name] = true
		actions = append(actions, AlterAction{Kind: kind, Option: o})
		if ok, err := p.acceptPunct(","); err != nil {
			return nil, err
		} else if !ok {
			return actions, p.expectPunct(")")
		}
	}
}

// optionList parses ( option [, ...] ) and rejects repeated options.
func (p *parser) optionList(allowed []connection.Option) (Options, *sqlerror.Error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var opts Options
	for {
		o, err := p.option(allowed)
		if err != nil {
			return nil, err
		}
		if opts.Has(o.Name) {
			return nil, sqlerror.New(sqlstate.SyntaxError, o.Pos, "option %s is given more than once", o.Name)
		}
		opts = append(opts, o)
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		if isPunct(t, ")") {
			return opts, nil
		}
		if !isPunct(t, ",") {
			return nil, p.unexpected(t, "\",\" or \")\"")
		}
	}
}

// optionWords maps every option name, and EXTERNAL ID, to its words.
var optionWords = func() map[connection.Option][]string {
	m := map[connection.Option][]string{}
	for _, d := range connection.Options {
		m[d.Name] = d.Words()
	}
	m[externalID] = strings.Fields(strings.ToLower(string(externalID)))
	return m
}()

// externalID is recognised only to be refused with an explanation.
const externalID connection.Option = "EXTERNAL ID"

// optionName reads a possibly multi-word option name and checks that it is
// one of allowed. Unknown names are reported with the nearest known one.
func (p *parser) optionName(allowed []connection.Option) (connection.Option, int, *sqlerror.Error) {
	first, err := p.peek()
	if err != nil {
		return "", 0, err
	}
	if first.kind != tokIdent {
		return "", 0, p.unexpected(first, "an option name")
	}
	var words []string
	for {
		t, err := p.peek()
		if err != nil {
			return "", 0, err
		}
		if t.kind != tokIdent {
			break
		}
		ext := append(words, t.text) // compared case-insensitively
		if len(words) > 0 && matchesOption(words) != "" && !isOptionPrefix(ext) {
			break // a complete name that the next word does not extend
		}
		if len(words) > 0 && !isOptionPrefix(words) && isWord(t, "secret") {
			break // an unknown name followed by a SECRET value without "="
		}
		words = ext
		p.peeked = false
	}
	name := matchesOption(words)
	spelled := strings.ToUpper(strings.Join(words, " "))
	if name == externalID {
		return "", 0, sqlerror.New(sqlstate.InvalidParameterValue, first.pos, "EXTERNAL ID cannot be set").WithHint(connection.ExternalIDHint)
	}
	if name == "" {
		e := sqlerror.New(sqlstate.SyntaxError, first.pos, "unknown option %s", spelled)
		if s := nearestOption(spelled, allowed); s != "" {
			e.Hint = "Did you mean " + string(s) + "?"
		} else {
			e.Hint = "Valid options are " + joinOptions(allowed) + "."
		}
		return "", 0, e
	}
	for _, a := range allowed {
		if a == name {
			return name, first.pos, nil
		}
	}
	e := sqlerror.New(sqlstate.SyntaxError, first.pos, "option %s is not valid here", name)
	if def, _ := connection.LookupOption(name); def.Scope != connection.ScopeAWS || len(allowed) == 1 {
		e.Hint = "Valid options are " + joinOptions(allowed) + "."
	} else {
		e.Hint = "Set " + string(name) + " on the AWS connection that this connection uses."
	}
	return "", 0, e
}

func joinOptions(os []connection.Option) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}

func matchesOption(words []string) connection.Option {
	for o, w := range optionWords {
		if equalWords(w, words) {
			return o
		}
	}
	return ""
}

func isOptionPrefix(words []string) bool {
	for _, w := range optionWords {
		if len(words) <= len(w) && equalWords(w[:len(words)], words) {
			return true
		}
	}
	return false
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// option parses one option with its value and checks the value.
func (p *parser) option(allowed []connection.Option) (Option, *sqlerror.Error) {
	name, pos, err := p.optionName(allowed)
	if err != nil {
		return Option{}, err
	}
	if _, err := p.acceptPunct("="); err != nil {
		return Option{}, err
	}
	o := Option{Name: name, Pos: pos}
	v, err := p.next()
	if err != nil {
		return Option{}, err
	}
	o.ValuePos = v.pos
	def, _ := connection.LookupOption(name)
	if isWord(v, "secret") {
		return p.secretRef(o, def, v)
	}
	switch {
	case def.Secret == connection.SecretRequired:
		return Option{}, sqlerror.New(sqlstate.InvalidParameterValue, v.pos, "%s must reference a secret", name).
			WithHint("Store the key first with CREATE SECRET name AS '...', then write " + string(name) + " = SECRET name.")
	case def.Value == connection.DurationValue:
		return p.durationValue(o, v)
	case v.kind != tokString:
		return Option{}, p.unexpectedValue(v, "a string literal for "+string(name))
	case def.Secret == connection.SecretSealed:
		if v.text == "" {
			return Option{}, sqlerror.New(sqlstate.InvalidParameterValue, v.pos, "%s must not be empty", name).
				WithHint("To stop using a " + strings.ToLower(string(name)) + ", write ALTER CONNECTION name DROP (" + string(name) + ").")
		}
		o.Kind, o.Secret = ValueSecret, NewSecret(v.text)
		return o, nil
	}
	o.Kind, o.String = ValueString, v.text
	if rerr := def.CheckValue(v.text); rerr != nil {
		return Option{}, ValueError(v.pos, name, rerr)
	}
	return o, nil
}

// secretRef parses the name after SECRET, for the options that may hold a
// secret.
func (p *parser) secretRef(o Option, def connection.OptionDef, v token) (Option, *sqlerror.Error) {
	if def.Secret == connection.NotSecret {
		return Option{}, sqlerror.New(sqlstate.SyntaxError, v.pos, "%s cannot reference a secret", o.Name).
			WithHint("Give " + string(o.Name) + " as a string literal.")
	}
	n, err := p.name("the secret's name")
	if err != nil {
		return Option{}, err
	}
	o.Kind, o.SecretRef = ValueSecretRef, n
	return o, nil
}

func (p *parser) durationValue(o Option, v token) (Option, *sqlerror.Error) {
	var rerr error
	switch v.kind {
	case tokNumber:
		n, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			return Option{}, sqlerror.New(sqlstate.InvalidParameterValue, v.pos, "invalid ASSUME ROLE DURATION: %s is not a whole number of seconds", v.text).
				WithHint("Give seconds (900 to 43200) or a duration such as '1h' or '90m'.")
		}
		o.Duration, rerr = connection.DurationFromSeconds(n)
	case tokString:
		o.Duration, rerr = connection.ParseDurationText(v.text)
	default:
		return Option{}, p.unexpectedValue(v, "a number of seconds or a duration string for ASSUME ROLE DURATION")
	}
	if rerr != nil {
		return Option{}, ValueError(v.pos, connection.AssumeRoleDuration, rerr)
	}
	o.Kind = ValueDuration
	return o, nil
}

// ValueError turns an error from one of connection's value rules into a
// 22023 error at pos, naming the option (when given) and carrying the
// rule's hint. The catalog uses it for the rules it re-checks on ALTER.
func ValueError(pos int, name connection.Option, err error) *sqlerror.Error {
	msg := err.Error()
	if name != "" {
		msg = "invalid " + string(name) + ": " + msg
	}
	e := sqlerror.New(sqlstate.InvalidParameterValue, pos, "%s", msg)
	var re *connection.RuleError
	if errors.As(err, &re) {
		e.Hint = re.Hint
	}
	return e
}

// withValidate parses an optional WITH (VALIDATE [= bool]).
func (p *parser) withValidate() (*bool, *sqlerror.Error) {
	if ok, err := p.acceptWord("with"); err != nil || !ok {
		return nil, err
	}
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if !isWord(t, "validate") {
		if t.kind == tokIdent {
			e := sqlerror.New(sqlstate.SyntaxError, t.pos, "unknown WITH option %s", strings.ToUpper(t.text))
			e.Hint = "The only WITH option here is VALIDATE."
			return nil, e
		}
		return nil, p.unexpected(t, "VALIDATE")
	}
	v := true
	if _, err := p.acceptPunct("="); err != nil {
		return nil, err
	}
	t, err = p.next()
	if err != nil {
		return nil, err
	}
	switch {
	case isWord(t, "true") || isWord(t, "on"):
	case isWord(t, "false") || isWord(t, "off"):
		v = false
	case isPunct(t, ")"):
		return &v, nil
	default:
		return nil, p.unexpected(t, "TRUE or FALSE")
	}
	return &v, p.expectPunct(")")
}

func (p *parser) validate(pos int) (Statement, *sqlerror.Error) {
	if err := p.expectWords("connection"); err != nil {
		return nil, err
	}
	s := &ValidateConnection{pos: pos}
	var err *sqlerror.Error
	if s.Name, err = p.name("the connection's name"); err != nil {
		return nil, err
	}
	if ok, err := p.acceptWord("with"); err != nil {
		return nil, err
	} else if ok {
		if err := p.expectPunct("("); err != nil {
			return nil, err
		}
		if _, _, err := p.optionName([]connection.Option{connection.S3Path}); err != nil {
			return nil, err
		}
		if _, err := p.acceptPunct("="); err != nil {
			return nil, err
		}
		v, err := p.str("an s3:// URL for S3 PATH")
		if err != nil {
			return nil, err
		}
		u, rerr := connection.ParseS3URL(v.text)
		if rerr != nil {
			return nil, ValueError(v.pos, connection.S3Path, rerr)
		}
		s.S3Path, s.S3PathPos = &u, v.pos
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
	}
	return s, p.expectEnd()
}

func (p *parser) show(pos int) (Statement, *sqlerror.Error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	s := &Show{pos: pos}
	switch {
	case isWord(t, "connections"):
		s.Kind = ShowConnections
	case isWord(t, "secrets"):
		s.Kind = ShowSecrets
	case isWord(t, "create"):
		if err := p.expectWords("connection"); err != nil {
			return nil, err
		}
		s.Kind = ShowCreateConnection
	case isWord(t, "trust"):
		if err := p.expectWords("policy", "for", "connection"); err != nil {
			return nil, err
		}
		s.Kind = ShowTrustPolicy
	case isWord(t, "permission"):
		if err := p.expectWords("policy", "for", "connection"); err != nil {
			return nil, err
		}
		s.Kind = ShowPermissionPolicy
	default:
		return nil, p.unexpected(t, "CONNECTIONS, SECRETS, CREATE CONNECTION, TRUST POLICY or PERMISSION POLICY")
	}
	if s.Kind != ShowConnections && s.Kind != ShowSecrets {
		n, err := p.name("the connection's name")
		if err != nil {
			return nil, err
		}
		s.Name = &n
	}
	return s, p.expectEnd()
}
