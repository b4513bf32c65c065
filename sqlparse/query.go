package sqlparse

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	tidbformat "github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/model"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	// The TiDB parser needs a value-expression driver; this is its light one.
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
)

// Query is a read-only SELECT (with UNION, subqueries and WITH) over the
// catalog tables. It is parsed by the TiDB parser and gated: anything that
// writes, reads files, names a schema other than the catalog's, calls a
// function outside a small allowlist or uses MySQL-only clauses is refused
// at parse time. Which tables exist is the catalog's business: Tables lists
// what the query reads, and SQLite restores it with the names the catalog
// resolves.
//
// A *Query is read-only once parsed (see compile): goroutines may share
// one, and the parser hands out the same one for the same text.
type Query struct {
	stmt   ast.StmtNode
	tables []TableRef
	// nodes are the TableName nodes of tables, in the same order: the
	// references the gate decided are tables rather than CTEs in scope.
	nodes []*ast.TableName
	pos   int
	text  string
	// offset is where text starts in the script.
	offset int
	// params is the highest $n; target says how they restore (as ?n for
	// SQLite, as $n otherwise) during a restore.
	params int
	target restoreTarget
	// What compile wrote: the canonical text, the SQLite text (or why
	// not) and the CTE names.
	canonical, sqlite string
	sqliteErr         error
	ctes              []string
}

// TableRef is a table a query reads, as written (lower-cased).
type TableRef struct {
	// Schema is "", "mz_catalog" or "mz_internal".
	Schema string
	Name   string
	// Pos is the byte offset of the reference in the script.
	Pos int
}

func (t TableRef) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// CatalogSchemas are the schema names a query may qualify a table with,
// as in Materialize.
var CatalogSchemas = []string{"mz_catalog", "mz_internal"}

// sqlMode: ANSI_QUOTES makes "x" an identifier and PIPES_AS_CONCAT makes ||
// concatenation, as in SQLite; NO_BACKSLASH_ESCAPES makes '\' an ordinary
// character in strings, as in SQLite, so a string means the same to the
// gate and to the database.
const sqlMode = mysql.ModeANSIQuotes | mysql.ModePipesAsConcat | mysql.ModeNoBackslashEscapes

// The TiDB parser is not safe for concurrent use; parsers are pooled.
var tidbParsers = sync.Pool{New: func() any {
	p := tidb.New()
	p.SetSQLMode(sqlMode)
	return p
}}

// MaxQueryDepth bounds nested subqueries so that a hostile query cannot
// make restore or SQLite recurse without limit.
const MaxQueryDepth = 32

// allowedFunctions are the scalar functions a query may call: pure
// functions over values, present in SQLite. Everything else (load_extension,
// readfile, writefile, fts3_tokenizer, sqlite_*, ...) is refused.
var allowedFunctions = map[string]bool{
	"lower": true, "upper": true, "length": true, "char_length": true, "substr": true,
	"substring": true, "trim": true, "ltrim": true, "rtrim": true, "replace": true,
	"instr": true, "coalesce": true, "ifnull": true, "nullif": true, "abs": true,
	"round": true, "concat": true, "concat_ws": true, "json_extract": true,
	"json_valid": true, "hex": true, "typeof": true, "datetime": true, "date": true,
	"time": true, "strftime": true, "julianday": true, "unixepoch": true, "iif": true,
	"max": true, "min": true,
}

// allowedAggregates are the aggregate and window functions a query may use.
var allowedAggregates = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"row_number": true, "rank": true, "dense_rank": true,
}

// QueryFunction reports whether a catalog query may call the function
// with this lower-case name, as a scalar, aggregate or window function. The
// catalog's SQLite authorizer asks the same question, so the gate and the
// database agree on one list.
func QueryFunction(name string) bool {
	return allowedFunctions[name] || allowedAggregates[name]
}

// QueryFunctions lists the scalar functions and the aggregate and window
// functions a catalog query may call, each sorted.
func QueryFunctions() (scalar, aggregate []string) {
	return slices.Sorted(maps.Keys(allowedFunctions)), slices.Sorted(maps.Keys(allowedAggregates))
}

var tidbErrPos = regexp.MustCompile(`line (\d+) column (\d+) near "`)

// parseQuery hands a piece to the TiDB parser and gates the result; a
// query parsed before comes from queryCache.
func parseQuery(piece Piece) (*Query, *sqlerror.Error) {
	if q, ok := queryCache.get(piece); ok {
		return q, nil
	}
	q, err := parseQueryText(piece)
	if err == nil {
		queryCache.put(piece, q)
	}
	return q, err
}

func parseQueryText(piece Piece) (*Query, *sqlerror.Error) {
	// TiDB decodes names leniently (an invalid byte becomes '?'), so a
	// restored query would not name what the user typed. Refuse invalid
	// UTF-8 anywhere in the query, as PostgreSQL does for any input.
	if !utf8.ValidString(piece.Text) {
		bad := piece.Offset
		for i, r := range piece.Text {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(piece.Text[i:]); size == 1 {
					bad = piece.Offset + i
					break
				}
			}
		}
		return nil, sqlerror.New(sqlstate.CharacterNotInRepert, bad, "invalid UTF-8 in query")
	}
	if e := checkQueryTokens(piece); e != nil {
		return nil, e
	}
	text, numbers, perr := dollarParams(piece)
	if perr != nil {
		return nil, perr
	}
	stmts, err := tidbParse(text)
	if err != nil {
		var e *sqlerror.Error
		if errors.As(err, &e) {
			e.Position = piece.Offset
			return nil, e
		}
		return nil, tidbError(Piece{Text: text, Offset: piece.Offset}, err)
	}
	if len(stmts) != 1 {
		return nil, sqlerror.New(sqlstate.SyntaxError, piece.Offset, "expected one query, found %d", len(stmts))
	}
	switch stmts[0].(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
	default:
		return nil, sqlerror.New(sqlstate.FeatureNotSupported, piece.Offset, "only SELECT queries are supported").
			WithHint("The catalog is changed only through CREATE, ALTER and DROP.")
	}
	q := &Query{stmt: stmts[0], pos: firstTokenPos(piece), text: piece.Text, offset: piece.Offset}
	g := &gate{piece: piece, tables: &q.tables, nodes: &q.nodes, params: &queryParams{numbers: numbers, target: &q.target}}
	stmts[0].Accept(g)
	if g.err != nil {
		return nil, g.err
	}
	q.params = g.params.max
	q.compile()
	return q, nil
}

// compile writes, once, everything later asked of the query: its
// canonical text, its SQLite text and its CTE names. Writing them swaps
// nodes of the tree in place for the while (restore), so it happens before
// anyone else holds the query; afterwards a *Query is read-only, safe to
// share between goroutines, and queryCache hands the same one out for the
// same text.
func (q *Query) compile() {
	if canonical, err := q.restore(nil, forReading); err == nil {
		q.canonical = canonical
	} else {
		q.canonical = q.text // restore fails only on nodes the gate refuses
	}
	q.sqlite, q.sqliteErr = q.restore(func(t TableRef) (string, error) { return t.Name, nil }, forSQLite)
	v := &cteCollector{}
	q.stmt.Accept(v)
	q.ctes = v.names
}

// MaxNumberLen bounds the digits of a numeric literal in a query. TiDB's
// decimal type holds 81 digits and its parser panics beyond that; no
// catalog query needs a number that long.
const MaxNumberLen = 64

// MaxQueryTokens bounds the tokens of one query. TiDB builds its whole
// tree before the gate sees it: for a 4 MiB IN-list of two million items
// that took over 1 GB. No catalog query needs a hundred thousand tokens.
const MaxQueryTokens = 100_000

// checkQueryTokens applies, before TiDB sees a query, the dialect's limits
// that hold for queries too: NUL (22021), literals over 64 KiB and numbers
// over MaxNumberLen (54000; TiDB's decimal panics beyond 81 digits), bare
// identifiers over 255 bytes (42622), and MaxQueryTokens. It uses this
// package's lexer, whose view of a query is close to TiDB's; tidbParse's
// recover is the backstop where they differ.
func checkQueryTokens(piece Piece) *sqlerror.Error {
	l := lexer{src: piece.Text}
	for n := 0; ; n++ {
		tok, err := l.next()
		if err != nil {
			if e := queryLimitError(piece, err); e != nil {
				return e
			}
			if l.pos <= err.Position {
				l.pos = err.Position + 1
			}
			continue
		}
		switch {
		case tok.kind == tokEOF:
			return nil
		case n >= MaxQueryTokens:
			return sqlerror.New(sqlstate.ProgramLimitExceeded, piece.Offset+tok.pos, "query has more than %d tokens", MaxQueryTokens).
				WithHint("Catalog queries are small; filter with a condition rather than a list of values.")
		case tok.kind == tokNumber && len(tok.text) > MaxNumberLen:
			return sqlerror.New(sqlstate.ProgramLimitExceeded, piece.Offset+tok.pos, "numeric literal is longer than %d characters", MaxNumberLen)
		}
	}
}

// queryLimitError is the lexer's error as it applies to a query, or nil.
// In a query "..." is a string to TiDB, not a name: the rules for names
// (length, control characters, not empty) hold only for bare words.
func queryLimitError(piece Piece, err *sqlerror.Error) *sqlerror.Error {
	isQuoted := err.Position < len(piece.Text) && piece.Text[err.Position] == '"'
	switch {
	case err.Code == sqlstate.CharacterNotInRepert, err.Code == sqlstate.ProgramLimitExceeded,
		err.Code == sqlstate.NameTooLong && !isQuoted:
		e := *err
		e.Position += piece.Offset
		return &e
	}
	return nil
}

// tidbParse runs a pooled TiDB parser. A panic inside the parser (it has
// some on inputs it does not expect) becomes a syntax error, and that
// parser is not reused.
func tidbParse(text string) (stmts []ast.StmtNode, err error) {
	p := tidbParsers.Get().(*tidb.Parser)
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, sqlerror.New(sqlstate.SyntaxError, 0, "query could not be parsed").
				WithHint("The query parser failed on this input; simplify the query (very long numbers or names are a common cause).")
			return
		}
		tidbParsers.Put(p)
	}()
	stmts, _, err = p.Parse(text, "", "")
	// The returned slice is the parser's own and is reused by its next
	// Parse: copy it before the parser goes back to the pool. (The nodes
	// are allocated per parse.)
	return slices.Clone(stmts), err
}

// isQuery reports whether piece reads as one SELECT to TiDB, whatever the
// gate says of it: a query the gate refused is still a query, which holds
// no secret, so the redactor keeps it as typed.
func isQuery(piece Piece) bool {
	l := lexer{src: piece.Text}
	first, err := l.next()
	if err != nil || !(isPunct(first, "(") || isWord(first, "select") || isWord(first, "with")) {
		return false
	}
	if !utf8.ValidString(piece.Text) || checkQueryTokens(piece) != nil {
		return false
	}
	stmts, perr := tidbParse(piece.Text)
	if perr != nil || len(stmts) != 1 {
		return false
	}
	switch stmts[0].(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		return true
	}
	return false
}

func firstTokenPos(piece Piece) int {
	l := lexer{src: piece.Text}
	_ = l.skipSpace()
	return piece.Offset + l.pos
}

// tidbError turns a TiDB parse error into an *sqlerror.Error at the right offset.
// TiDB reports the position just past the token it stopped at; the text it
// quotes after "near" is the rest of the input from the offending token.
func tidbError(piece Piece, err error) *sqlerror.Error {
	msg := err.Error()
	pos := piece.Offset
	if m := tidbErrPos.FindStringSubmatchIndex(msg); m != nil {
		near := msg[m[1]:]
		if i := strings.LastIndexByte(near, '"'); i >= 0 {
			near = near[:i]
		}
		if near != "" {
			if i := strings.Index(piece.Text, near); i >= 0 {
				pos = piece.Offset + i
			}
		} else {
			pos = piece.Offset + len(strings.TrimRight(piece.Text, " \t\r\n"))
		}
	}
	e := sqlerror.New(sqlstate.SyntaxError, pos, "syntax error in query")
	// TiDB's own text names MySQL and quotes the input; neither helps here.
	e.Hint = "Queries use SELECT over the catalog tables (mz_connections, mz_aws_connections, ...)."
	if hasWord(piece.Text, "into") {
		e.Hint = "Catalog queries are read-only: SELECT ... INTO cannot create or fill a table. Drop the INTO clause to see the rows."
	}
	if lower := strings.ToLower(piece.Text); strings.Contains(lower, "pg_catalog.") || strings.Contains(lower, "information_schema.") {
		// psql's \d, pgcli's completion and JDBC's getTables write
		// PostgreSQL-only SQL (OPERATOR(pg_catalog.~), ::regclass).
		e.Code, e.Message, e.Hint = sqlstate.FeatureNotSupported, "queries of PostgreSQL's system catalogs are not supported", systemCatalogHint
	}
	return e
}

// hasWord reports whether text has the bare word w (any case) outside
// strings and comments.
func hasWord(text, w string) bool {
	l := lexer{src: text}
	for {
		t, err := l.next()
		if err != nil {
			if l.pos <= err.Position {
				l.pos = err.Position + 1
			}
			continue
		}
		if t.kind == tokEOF {
			return false
		}
		if isWord(t, w) {
			return true
		}
	}
}

// gate walks a query, collects the tables it reads and refuses the rest.
type gate struct {
	piece  Piece
	tables *[]TableRef
	nodes  *[]*ast.TableName
	ctes   []string // CTE names in scope, innermost last
	depth  int
	err    *sqlerror.Error
	// params is shared by a gate and its children.
	params *queryParams
}

// queryParams are a query's $n parameters as the gate found them.
type queryParams struct {
	numbers map[int]int // offset of the '?' in the text -> n
	max     int
	target  *restoreTarget
}

func (g *gate) fail(n ast.Node, code, msg string, args ...any) (ast.Node, bool) {
	if g.err == nil {
		g.err = sqlerror.New(code, g.nodePos(n), msg, args...)
	}
	return n, true
}

func (g *gate) nodePos(n ast.Node) int {
	if p := n.OriginTextPosition(); p > 0 && p <= len(g.piece.Text) {
		return g.piece.Offset + p
	}
	// TiDB records positions for few node kinds; for names, the first
	// occurrence of the name is close enough to point a caret at.
	var name string
	switch n := n.(type) {
	case *ast.TableName:
		name = n.Name.L
		if n.Schema.L != "" {
			name = n.Schema.L
		}
	case *ast.FuncCallExpr:
		name = n.FnName.L
	case *ast.AggregateFuncExpr:
		name = strings.ToLower(n.F)
	}
	if name != "" {
		if i := strings.Index(strings.ToLower(g.piece.Text), name); i >= 0 {
			return g.piece.Offset + i
		}
	}
	return firstTokenPos(g.piece)
}

func (g *gate) inScope(name string) bool {
	for _, c := range g.ctes {
		if c == name {
			return true
		}
	}
	return false
}

// scoped walks a query that has a WITH clause so that CTE names shadow
// tables exactly where SQL scoping says they do: a non-recursive CTE sees
// the CTEs before it, a recursive one sees all of them, and the body sees
// all of them. A reference outside that scope is a table reference and is
// gated as one.
func (g *gate) scoped(with *ast.WithClause, body func(ast.Visitor)) {
	names := make([]string, len(with.CTEs))
	for i, cte := range with.CTEs {
		for _, col := range append([]model.CIStr{cte.Name}, cte.ColNameList...) {
			if g.names(with, col.O); g.err != nil {
				return
			}
		}
		names[i] = cte.Name.L
		if ReservedName(names[i]) {
			g.fail(with, sqlstate.ReservedName, "WITH query name %q is reserved", cte.Name.O)
			g.err.Hint = "Names starting with sqlite_ or conncat_ belong to the catalog's storage; choose another name."
			return
		}
	}
	for i, cte := range with.CTEs {
		visible := names[:i]
		if with.IsRecursive || cte.IsRecursive {
			visible = names
		}
		child := &gate{piece: g.piece, tables: g.tables, nodes: g.nodes, ctes: append(append([]string{}, g.ctes...), visible...), depth: g.depth, params: g.params}
		cte.Query.Accept(child)
		if child.err != nil && g.err == nil {
			g.err = child.err
		}
	}
	child := &gate{piece: g.piece, tables: g.tables, nodes: g.nodes, ctes: append(append([]string{}, g.ctes...), names...), depth: g.depth, params: g.params}
	body(child)
	if child.err != nil && g.err == nil {
		g.err = child.err
	}
}

func (g *gate) Enter(n ast.Node) (ast.Node, bool) {
	if g.err != nil {
		return n, true
	}
	switch n := n.(type) {
	case *ast.SelectStmt:
		return g.gateSelect(n)
	case *ast.SetOprStmt:
		return g.gateSetOpr(n)
	case *ast.ColumnName:
		return g.names(n, n.Schema.O, n.Table.O, n.Name.O)
	case *ast.SelectField:
		return g.names(n, n.AsName.O)
	case *ast.TableSource:
		return g.names(n, n.AsName.O)
	case *ast.TableName:
		return g.gateTable(n)
	case *ast.FuncCallExpr, *ast.AggregateFuncExpr, *ast.WindowFuncExpr:
		return g.gateFunction(n)
	case *driver.ParamMarkerExpr:
		return g.param(n)
	case *driver.ValueExpr:
		return n, g.gateLiteral(n)
	case *ast.FuncCastExpr:
		return g.gateCast(n)
	case *ast.BinaryOperationExpr:
		return g.gateOperator(n, n.Op)
	case *ast.UnaryOperationExpr:
		return g.gateOperator(n, n.Op)
	}
	return g.gateOther(n)
}

// gateSelect checks one SELECT and counts its depth; one with WITH is
// walked here, inside the scope of its WITH queries.
func (g *gate) gateSelect(n *ast.SelectStmt) (ast.Node, bool) {
	g.depth++
	switch {
	case g.depth > MaxQueryDepth:
		return g.fail(n, sqlstate.ProgramLimitExceeded, "query nests more than %d levels of SELECT", MaxQueryDepth)
	case n.Kind != ast.SelectStmtKindSelect:
		return g.fail(n, sqlstate.FeatureNotSupported, "TABLE and VALUES statements are not supported")
	case n.SelectIntoOpt != nil:
		return g.fail(n, sqlstate.InsufficientPrivilege, "SELECT ... INTO is not allowed: queries are read-only")
	case n.LockInfo != nil && n.LockInfo.LockType != ast.SelectLockNone:
		return g.fail(n, sqlstate.FeatureNotSupported, "locking clauses (FOR UPDATE, FOR SHARE) are not supported")
	case len(n.TableHints) > 0:
		return g.fail(n, sqlstate.FeatureNotSupported, "optimizer hints are not supported")
	case n.With == nil:
		return n, false
	}
	with := n.With
	g.scoped(with, func(v ast.Visitor) {
		n.With = nil
		n.Accept(v)
		n.With = with
	})
	g.depth--
	return n, true
}

// gateSetOpr checks a UNION / INTERSECT / EXCEPT; one with WITH is walked
// here, inside the scope of its WITH queries.
func (g *gate) gateSetOpr(n *ast.SetOprStmt) (ast.Node, bool) {
	if g.gateSetOperands(n.SelectList); g.err != nil || n.With == nil {
		return n, g.err != nil
	}
	with := n.With
	g.scoped(with, func(v ast.Visitor) {
		n.With = nil
		n.Accept(v)
		n.With = with
	})
	return n, true
}

// gateTable lets a query name only the catalog's tables (and its own WITH
// queries), and records each table it names.
func (g *gate) gateTable(n *ast.TableName) (ast.Node, bool) {
	if g.names(n, n.Schema.O, n.Name.O); g.err != nil {
		return n, true
	}
	schema, name := n.Schema.L, n.Name.L
	if schema == "" && g.inScope(name) {
		return n, false
	}
	if schema != "" && !isCatalogSchema(schema) {
		g.fail(n, sqlstate.UndefinedTable, "relation %q does not exist", schema+"."+name)
		g.err.Hint = "Only the catalog tables can be queried, unqualified or in schema mz_catalog or mz_internal."
		if systemCatalog(schema) {
			g.err.Hint = systemCatalogHint
		}
		return n, true
	}
	if len(n.IndexHints) > 0 || len(n.PartitionNames) > 0 || n.TableSample != nil || n.AsOf != nil {
		return g.fail(n, sqlstate.FeatureNotSupported, "index hints, partitions, TABLESAMPLE and AS OF are not supported")
	}
	*g.tables = append(*g.tables, TableRef{Schema: schema, Name: name, Pos: g.nodePos(n)})
	*g.nodes = append(*g.nodes, n)
	return n, false
}

// gateFunction lets through only the allowed functions and aggregates.
func (g *gate) gateFunction(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.FuncCallExpr:
		if n.Schema.L != "" || !allowedFunctions[n.FnName.L] {
			return g.fail(n, sqlstate.UndefinedFunction, "function %s is not allowed in catalog queries", n.FnName.O)
		}
		return n, g.gateTrim(n)
	case *ast.AggregateFuncExpr:
		if !allowedAggregates[strings.ToLower(n.F)] {
			return g.fail(n, sqlstate.UndefinedFunction, "function %s is not allowed in catalog queries", n.F)
		}
	case *ast.WindowFuncExpr:
		if !allowedAggregates[strings.ToLower(n.Name)] {
			return g.fail(n, sqlstate.UndefinedFunction, "function %s is not allowed in catalog queries", n.Name)
		}
	}
	return n, false
}

// gateOther refuses the forms SQLite would read otherwise than TiDB (or
// not at all), each with a hint where one helps, and any node not on the
// allowed list.
func (g *gate) gateOther(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.VariableExpr:
		return g.fail(n, sqlstate.FeatureNotSupported, "variables are not supported in catalog queries")
	case *ast.PatternLikeOrIlikeExpr:
		if !n.IsLike {
			return g.failHint(n, "Compare lower-cased text: lower(name) LIKE lower('Pattern%').", "ILIKE is not supported in catalog queries")
		}
	case *ast.Join:
		if n.StraightJoin {
			return g.failHint(n, "Write JOIN.", "STRAIGHT_JOIN is not supported in catalog queries")
		}
	case *ast.CompareSubqueryExpr:
		// SQLite has no ANY, ALL or SOME: refused on every store, so a
		// query means the same on each.
		return g.failHint(n, "Write x IN (SELECT ...), x NOT IN (SELECT ...) or EXISTS (SELECT ...).",
			"ANY, ALL and SOME comparisons with a subquery are not supported in catalog queries")
	default:
		if !allowedNode(n) {
			return g.refuseNode(n)
		}
	}
	return n, false
}

// failHint is fail for a form that is not supported, with a hint.
func (g *gate) failHint(n ast.Node, hint, msg string) (ast.Node, bool) {
	g.fail(n, sqlstate.FeatureNotSupported, "%s", msg)
	g.err.Hint = hint
	return n, true
}

// names holds a query's names (columns, tables, aliases, WITH queries) to
// the dialect's rules for names, however TiDB read them (bare, quoted
// with backticks, or an alias written as a string): at most
// MaxIdentifierLen bytes (42622), no control or invisible characters.
func (g *gate) names(n ast.Node, names ...string) (ast.Node, bool) {
	for _, name := range names {
		if len(name) > MaxIdentifierLen {
			return g.fail(n, sqlstate.NameTooLong, "identifier is longer than %d bytes", MaxIdentifierLen)
		}
		if err := checkNameChars(name, g.nodePos(n)); err != nil {
			if g.err == nil {
				g.err = err
			}
			return n, true
		}
	}
	return n, false
}

// param turns a '?' that stands for a $n into a param node; a '?' typed
// as such (MySQL's marker) is refused.
func (g *gate) param(n *driver.ParamMarkerExpr) (ast.Node, bool) {
	number, ok := g.params.numbers[n.Offset]
	if !ok {
		g.fail(n, sqlstate.FeatureNotSupported, "? parameters are not supported in catalog queries")
		g.err.Position = g.piece.Offset + n.Offset
		g.err.Hint = "Write parameters as $1, $2, ..."
		return n, true
	}
	g.params.max = max(g.params.max, number)
	return &param{ParamMarkerExpr: n, number: number, target: g.params.target}, true
}

func (g *gate) Leave(n ast.Node) (ast.Node, bool) {
	if _, ok := n.(*ast.SelectStmt); ok {
		g.depth--
	}
	return n, g.err == nil
}

// ReservedName reports whether a (lower-case) table name belongs to the
// catalog's storage: SQLite's own tables and conncat's internal ones. A
// query may not name a CTE so, or a CTE could stand for one of them to
// SQLite's authorizer, which sees a CTE and a table alike.
func ReservedName(name string) bool {
	return strings.HasPrefix(name, "sqlite_") || strings.HasPrefix(name, "conncat_")
}

// systemCatalogHint says what to use instead of PostgreSQL's system
// catalogs, which tools query on their own (psql's \d, JDBC's getTables).
const systemCatalogHint = "conncat has no pg_catalog or information_schema: list connections with SHOW CONNECTIONS or SELECT ... FROM mz_connections (tables: mz_connections, mz_aws_connections, mz_s3_connections, mz_secrets, ...); in conncat's REPL, \\d."

// systemCatalog reports PostgreSQL's system schemas.
func systemCatalog(schema string) bool {
	return schema == "pg_catalog" || schema == "information_schema"
}

func isCatalogSchema(s string) bool {
	for _, c := range CatalogSchemas {
		if s == c {
			return true
		}
	}
	return false
}

// Tables returns the tables the query reads, in order of appearance.
// Names that refer to a CTE in scope are not tables and are not listed.
func (q *Query) Tables() []TableRef { return q.tables }

// CTENames returns the lower-case names of the common table expressions
// the query defines, at any depth. SQLite reports a CTE from which no
// column is read as a read of its name, like a table; the catalog's
// authorizer needs these names to tell the two apart.
func (q *Query) CTENames() []string { return q.ctes }

type cteCollector struct{ names []string }

func (v *cteCollector) Enter(n ast.Node) (ast.Node, bool) {
	if w, ok := n.(*ast.WithClause); ok {
		for _, cte := range w.CTEs {
			v.names = append(v.names, cte.Name.L)
		}
	}
	return n, false
}

func (v *cteCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// Pos implements Statement.
func (q *Query) Pos() int { return q.pos }

// ColumnPos is the offset in the script of a column reference as SQLite
// names it ("nam", "c.nam"), for an error's caret: the first place the
// query's text has it as a whole word, else the query's start.
func (q *Query) ColumnPos(name string) int {
	lower, want := strings.ToLower(q.text), strings.ToLower(name)
	offset := q.offset
	for from := 0; ; {
		i := strings.Index(lower[from:], want)
		if i < 0 {
			return q.pos
		}
		i += from
		end := i + len(want)
		if (i == 0 || !isIdentPart(lower[i-1])) && (end == len(lower) || !isIdentPart(lower[end])) {
			return offset + i
		}
		from = i + 1
	}
}

// DoubleQuotedAt reports whether the query's text at script offset pos
// opens a double-quoted name: a value written in double quotes, as MySQL
// allows, is a column to SQL.
func (q *Query) DoubleQuotedAt(pos int) bool {
	i := pos - q.offset
	return i > 0 && i <= len(q.text) && q.text[i-1] == '"'
}

func (*Query) statement() {}

// String returns the query in canonical form: keywords upper case, names
// double-quoted, LIMIT n OFFSET m. Queries hold no secrets, so it is also
// UnredactedSQL.
func (q *Query) String() string { return q.canonical }

// UnredactedSQL implements Statement; a query holds no secret.
func (q *Query) UnredactedSQL() string { return q.String() }

// SQLite is the query as SQLite-ready text, once check accepted every
// table it reads (a store refuses tables it does not have). Tables are
// named as written, without their schema (mz_catalog.mz_connections reads
// mz_connections); names are written in backquotes, strings without
// charset prefixes, parameters as ?n, and NULLs sort last ascending and
// first descending (as PostgreSQL and Materialize sort them).
func (q *Query) SQLite(check func(TableRef) error) (string, error) {
	for _, t := range q.tables {
		if err := check(t); err != nil {
			return "", err
		}
	}
	return q.sqlite, q.sqliteErr
}

// restoreTarget is what a restore writes for.
type restoreTarget uint8

const (
	forReading restoreTarget = iota // String: canonical and readable
	forSQLite
)

// restore writes the query. Table names are swapped for resolved ones and
// LIMIT m,n is rewritten as LIMIT n OFFSET m for the duration of the
// restore, then put back, so the Query is unchanged afterwards.
func (q *Query) restore(resolve func(TableRef) (string, error), target restoreTarget) (string, error) {
	// Only the text a database runs gets every operand parenthesised;
	// String stays readable (and re-parses to itself).
	r := &rewriter{target: target, root: q.stmt}
	defer func() {
		r.undo()
		if r.castsWrapped {
			q.stmt.Accept(unwrapCasts{})
		}
	}()
	q.target = target
	if resolve != nil {
		for i, n := range q.nodes {
			resolved, err := resolve(q.tables[i])
			if err != nil {
				return "", err
			}
			n, schema, name := n, n.Schema, n.Name
			n.Schema, n.Name = model.CIStr{}, model.NewCIStr(resolved)
			r.undos = append(r.undos, func() { n.Schema, n.Name = schema, name })
		}
	}
	if target == forSQLite {
		r.nameFields(firstSelect(q.stmt))
	}
	q.stmt.Accept(r)
	var b strings.Builder
	flags := tidbformat.RestoreStringSingleQuotes | tidbformat.RestoreKeyWordUppercase | tidbformat.RestoreStringWithoutCharset
	switch target {
	case forSQLite:
		// Names go in backquotes: SQLite reads an unknown "double-quoted"
		// name as a string literal, so a misspelled column would quietly
		// become a constant; an unknown `name` is an error.
		flags |= tidbformat.RestoreNameBackQuotes
	default:
		flags |= tidbformat.RestoreNameDoubleQuotes
	}
	if err := q.stmt.Restore(tidbformat.NewRestoreCtx(flags, &b)); err != nil {
		return "", fmt.Errorf("sqlparse: restore query: %w", err)
	}
	return b.String(), nil
}

// rewriter rewrites LIMIT m,n as LIMIT n OFFSET m and, for SQLite, puts
// operands in parentheses, for the duration of a restore, and remembers
// how to undo every temporary change.
type rewriter struct {
	target restoreTarget
	undos  []func()
	// castsWrapped: some CAST is a storeCast for this restore.
	castsWrapped bool
	// root is the query's statement.
	root ast.Node
}

// nameFields gives the outermost select list's unaliased expressions the
// names PostgreSQL gives them (count, lower, ?column?, …), for the
// duration of the restore: SQLite would name a column by its text
// ("COUNT(1)", as TiDB restores count(*)). A bare column keeps its name.
func (r *rewriter) nameFields(sel *ast.SelectStmt) {
	if sel == nil || sel.Fields == nil {
		return
	}
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil || f.AsName.L != "" {
			continue
		}
		name := postgresName(f.Expr)
		if name == "" {
			continue
		}
		f := f
		f.AsName = model.NewCIStr(name)
		r.undos = append(r.undos, func() { f.AsName = model.CIStr{} })
	}
}

// postgresName is the name PostgreSQL gives an unaliased result column
// of expression e, or "" for a column reference (its own name).
func postgresName(e ast.ExprNode) string {
	switch e := e.(type) {
	case *ast.ColumnNameExpr:
		return ""
	case *ast.ParenthesesExpr:
		return postgresName(e.Expr)
	case *ast.FuncCallExpr:
		return e.FnName.L
	case *ast.AggregateFuncExpr:
		return strings.ToLower(e.F)
	case *ast.WindowFuncExpr:
		return strings.ToLower(e.Name)
	case *ast.CaseExpr:
		return "case"
	case *ast.FuncCastExpr:
		if t := castType(e); t != "" {
			return string(t)
		}
	case *ast.SubqueryExpr:
		if sel := firstSelectOf(e.Query); sel != nil && sel.Fields != nil && len(sel.Fields.Fields) == 1 {
			f := sel.Fields.Fields[0]
			if f.AsName.L != "" {
				return f.AsName.O
			}
			if c, ok := f.Expr.(*ast.ColumnNameExpr); ok {
				return c.Name.Name.O
			}
			if n := postgresName(f.Expr); n != "" {
				return n
			}
		}
	}
	return "?column?"
}

func (r *rewriter) undo() {
	for i := len(r.undos) - 1; i >= 0; i-- {
		r.undos[i]()
	}
}

func (r *rewriter) Enter(n ast.Node) (ast.Node, bool) { return n, false }

// Leave does the swaps: Accept re-assigns a node's children from what the
// visitor returns for them, which would undo a swap made in Enter.
func (r *rewriter) Leave(n ast.Node) (ast.Node, bool) {
	if n, ok := n.(*ast.Limit); ok && n.Offset != nil {
		count, offset := n.Count, n.Offset
		n.Count, n.Offset = limitOffset{ExprNode: count, offset: offset}, nil
		r.undos = append(r.undos, func() { n.Count, n.Offset = count, offset })
	}
	if r.target == forReading {
		return n, true
	}
	switch n := n.(type) {
	case *ast.FuncCastExpr:
		return r.castFor(n), true
	case *ast.SelectStmt:
		r.unbraceForSQLite(n)
	case *ast.OrderByClause:
		for _, item := range n.Items {
			r.nullsAsPostgreSQL(item)
		}
	case *ast.BinaryOperationExpr:
		r.parenthesize(&n.L, &n.R)
	case *ast.UnaryOperationExpr:
		r.parenthesize(&n.V)
	case *ast.IsNullExpr:
		r.parenthesize(&n.Expr)
	case *ast.IsTruthExpr:
		r.parenthesize(&n.Expr)
	case *ast.PatternLikeOrIlikeExpr:
		r.parenthesize(&n.Expr, &n.Pattern)
		if n.Escape == '\\' {
			// PostgreSQL's LIKE escapes with a backslash unless told
			// otherwise; SQLite's has no escape unless told.
			pattern := n.Pattern
			n.Pattern = backslashEscaped{pattern}
			r.undos = append(r.undos, func() { n.Pattern = pattern })
		}
	case *ast.BetweenExpr:
		r.parenthesize(&n.Expr, &n.Left, &n.Right)
	case *ast.PatternInExpr:
		r.parenthesize(&n.Expr)
		r.rowListForSQLite(n)
	}
	return n, true
}

// rowListForSQLite writes "(a, b) IN ((1, 2), (3, 4))" as "(a, b) IN
// (VALUES (1, 2), (3, 4))": SQLite takes a row value's IN list only as a
// subquery.
func (r *rewriter) rowListForSQLite(n *ast.PatternInExpr) {
	for i, item := range n.List {
		row, isRow := item.(*ast.RowExpr)
		if !isRow {
			continue
		}
		i, orig := i, item
		n.List[i] = rowValue{RowExpr: row, values: i == 0}
		r.undos = append(r.undos, func() { n.List[i] = orig })
	}
}

// rowValue restores a row as "(a, b)", SQLite's row value, and the first
// row of an IN list as "VALUES (a, b)".
type rowValue struct {
	*ast.RowExpr
	values bool
}

func (v rowValue) Restore(ctx *tidbformat.RestoreCtx) error {
	if v.values {
		ctx.WriteKeyWord("VALUES ")
	}
	ctx.WritePlain("(")
	for i, e := range v.RowExpr.Values {
		if i > 0 {
			ctx.WritePlain(", ")
		}
		if err := e.Restore(ctx); err != nil {
			return err
		}
	}
	ctx.WritePlain(")")
	return nil
}

// parenthesize wraps operands in parentheses for the restore. TiDB writes
// operators without them, trusting MySQL's precedence, which is not
// SQLite's ("1 | 2 & 0"), and without spaces, so "1 - -1" would come out
// as "1--1", a comment to SQLite. With every operand in parentheses the
// text SQLite reads has exactly the parsed tree's shape, and no two
// operator characters ever touch.
func (r *rewriter) parenthesize(operands ...*ast.ExprNode) {
	for _, o := range operands {
		if *o == nil {
			continue
		}
		if row, isRow := (*o).(*ast.RowExpr); isRow {
			// (a, b) already has its own; SQLite knows no ROW(a, b).
			o, orig := o, *o
			*o = rowValue{RowExpr: row}
			r.undos = append(r.undos, func() { *o = orig })
			continue
		}
		o, orig := o, *o
		*o = parenthesized{ExprNode: orig}
		r.undos = append(r.undos, func() { *o = orig })
	}
}

// nullsAsPostgreSQL makes SQLite sort NULLs as PostgreSQL does: last in
// ascending order, first in descending (SQLite's default is the reverse).
// ByItem writes its expression, then DESC; the wrapper writes both and the
// NULLS clause, with the item's own DESC off for the restore.
func (r *rewriter) nullsAsPostgreSQL(n *ast.ByItem) {
	expr, desc := n.Expr, n.Desc
	n.Expr, n.Desc = nullsOrdered{ExprNode: expr, desc: desc}, false
	r.undos = append(r.undos, func() { n.Expr, n.Desc = expr, desc })
}

// nullsOrdered restores an ORDER BY item with PostgreSQL's NULL order.
type nullsOrdered struct {
	ast.ExprNode
	desc bool
}

func (o nullsOrdered) Restore(ctx *tidbformat.RestoreCtx) error {
	if err := o.ExprNode.Restore(ctx); err != nil {
		return err
	}
	if o.desc {
		ctx.WriteKeyWord(" DESC NULLS FIRST")
	} else {
		ctx.WriteKeyWord(" NULLS LAST")
	}
	return nil
}

// backslashEscaped restores a LIKE pattern followed by ESCAPE '\'.
type backslashEscaped struct{ ast.ExprNode }

func (p backslashEscaped) Restore(ctx *tidbformat.RestoreCtx) error {
	if err := p.ExprNode.Restore(ctx); err != nil {
		return err
	}
	ctx.WriteKeyWord(" ESCAPE ")
	ctx.WriteString(`\`)
	return nil
}

// parenthesized restores its expression inside parentheses.
type parenthesized struct{ ast.ExprNode }

func (p parenthesized) Restore(ctx *tidbformat.RestoreCtx) error {
	ctx.WritePlain("(")
	if err := p.ExprNode.Restore(ctx); err != nil {
		return err
	}
	ctx.WritePlain(")")
	return nil
}

// limitOffset prints "count OFFSET offset" in place of LIMIT's count, the
// form SQLite and PostgreSQL read the same way.
type limitOffset struct {
	ast.ExprNode
	offset ast.ExprNode
}

func (l limitOffset) Restore(ctx *tidbformat.RestoreCtx) error {
	if err := l.ExprNode.Restore(ctx); err != nil {
		return err
	}
	ctx.WriteKeyWord(" OFFSET ")
	return l.offset.Restore(ctx)
}
