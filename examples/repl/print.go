package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/conncat/conncat"
)

// printer shows the outcome of one statement.
type printer interface {
	print(script string, p conncat.Piece, res *conncat.Result, err error)
}

func newPrinter(format string, w io.Writer) (printer, error) {
	switch format {
	case "table":
		// On a terminal a row wider than the screen is shown expanded
		// (psql's \x auto), since wrapped tables are unreadable; a script
		// or a pipe gets the table whatever its width.
		if width, ok := terminalWidth(w); ok {
			return &tablePrinter{w: w, expanded: expandedAuto, width: width}, nil
		}
		return &tablePrinter{w: w, expanded: expandedOff, width: screenWidth()}, nil
	case "csv":
		return &csvPrinter{w: csv.NewWriter(w), raw: w}, nil
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return &jsonPrinter{enc: enc}, nil
	}
	return nil, fmt.Errorf("-format must be table, csv or json, not %q", format)
}

// terminalWidth is the width of the terminal w writes to, when it is one.
func terminalWidth(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
		return cols, true
	}
	return screenWidth(), true
}

// screenWidth is the terminal's width from $COLUMNS, else 160.
func screenWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 160
}

// cell renders one value for text output, with control characters
// escaped (newlines kept: the table prints them as lines, CSV quotes them).
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return printable(v)
	default:
		return printable(fmt.Sprint(v))
	}
}

// printable escapes what could rewrite a terminal: control characters but
// '\n' and '\t' (an ESC sequence, a carriage return that overwrites the line),
// bidirectional overrides and line separators, as \x1b or \u202e. Names
// cannot hold them (the parser refuses), but values can: an error text
// from a server a connection points at, or a SELECT's own expression.
func printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unsafeRune(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r != '\n' && r != '\t' && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029')
}

// Expanded display modes (\x), as in psql.
const (
	expandedOff  = "off"
	expandedOn   = "on"
	expandedAuto = "auto" // expanded when the table is wider than the screen
)

type tablePrinter struct {
	w        io.Writer
	expanded string
	// width is the screen's width in columns, for \x auto.
	width int
}

func (t *tablePrinter) print(script string, p conncat.Piece, res *conncat.Result, err error) {
	if res != nil {
		for _, n := range res.Notices {
			fmt.Fprintf(t.w, "NOTICE: %s\n", printable(n))
		}
		if res.Columns != nil {
			if t.expanded == expandedOn || t.expanded == expandedAuto && tableWidth(res.Columns, res.Rows) > t.width {
				writeExpanded(t.w, res.Columns, res.Rows)
			} else {
				writeTable(t.w, res.Columns, res.Rows)
			}
		} else {
			fmt.Fprintln(t.w, res.Tag)
		}
	}
	if err != nil {
		// VALIDATE's failed checks are in the rows just printed, with
		// their hints: its error's DETAIL and HINT would say it again.
		var e *conncat.Error
		if res != nil && len(res.Columns) > 0 && res.Columns[0] == "check" && errors.As(err, &e) {
			short := *e
			short.Detail, short.Hint = "", ""
			err = &short
		}
		writeError(t.w, script, p, err)
	}
}

// writeTable prints aligned columns; multi-line values (policies) are
// printed line by line within their column.
func writeTable(w io.Writer, cols []string, rows [][]any) {
	widths := make([]int, len(cols))
	cols = slices.Clone(cols)
	for i, c := range cols {
		cols[i] = printable(c)
		widths[i] = utf8.RuneCountInString(cols[i])
	}
	cells := make([][][]string, len(rows))
	for r, row := range rows {
		cells[r] = make([][]string, len(row))
		for i, v := range row {
			lines := strings.Split(cell(v), "\n")
			cells[r][i] = lines
			for _, l := range lines {
				widths[i] = max(widths[i], utf8.RuneCountInString(l))
			}
		}
	}
	line := func(vals []string) {
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(v)
			if i < len(vals)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(cols)
	seps := make([]string, len(cols))
	for i := range cols {
		seps[i] = strings.Repeat("-", widths[i])
	}
	fmt.Fprintln(w, strings.Join(seps, "-+-"))
	for _, row := range cells {
		height := 1
		for _, c := range row {
			height = max(height, len(c))
		}
		for h := 0; h < height; h++ {
			vals := make([]string, len(row))
			for i, c := range row {
				if h < len(c) {
					vals[i] = c[h]
				}
			}
			line(vals)
		}
	}
	if len(rows) == 1 {
		fmt.Fprintln(w, "(1 row)")
	} else {
		fmt.Fprintf(w, "(%d rows)\n", len(rows))
	}
}

// tableWidth is how wide writeTable would print.
func tableWidth(cols []string, rows [][]any) int {
	width := 0
	for i, c := range cols {
		w := utf8.RuneCountInString(printable(c))
		for _, row := range rows {
			for _, l := range strings.Split(cell(row[i]), "\n") {
				w = max(w, utf8.RuneCountInString(l))
			}
		}
		width += w + len(" | ")
	}
	return width
}

// writeExpanded prints each row as a block of "column | value" lines, as
// psql's \x does: readable when a row is wider than the screen.
func writeExpanded(w io.Writer, cols []string, rows [][]any) {
	names := make([]string, len(cols))
	nameWidth := 0
	for i, c := range cols {
		names[i] = printable(c)
		nameWidth = max(nameWidth, utf8.RuneCountInString(names[i]))
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "(0 rows)")
		return
	}
	for r, row := range rows {
		header := fmt.Sprintf("-[ RECORD %d ]", r+1)
		fmt.Fprintln(w, header+strings.Repeat("-", max(0, nameWidth+1-utf8.RuneCountInString(header)))+"+"+strings.Repeat("-", 8))
		for i, v := range row {
			for j, l := range strings.Split(cell(v), "\n") {
				name := ""
				if j == 0 {
					name = names[i]
				}
				fmt.Fprintln(w, strings.TrimRight(name+strings.Repeat(" ", nameWidth-utf8.RuneCountInString(name))+" | "+l, " "))
			}
		}
	}
}

func writeError(w io.Writer, script string, p conncat.Piece, err error) {
	var e *conncat.Error
	if !errors.As(err, &e) {
		fmt.Fprintf(w, "ERROR: %s\n", printable(err.Error()))
		return
	}
	fmt.Fprintf(w, "ERROR %s: %s\n", e.Code, printable(e.Error()))
	if e.Detail != "" {
		fmt.Fprintf(w, "DETAIL: %s\n", printable(e.Detail))
	}
	if e.Hint != "" {
		fmt.Fprintf(w, "HINT: %s\n", printable(e.Hint))
	}
	if c := conncat.CaretIn(e, script, p); c != "" {
		for _, l := range strings.Split(c, "\n") {
			fmt.Fprintf(w, "  %s\n", printable(l))
		}
	}
}

type csvPrinter struct {
	w   *csv.Writer
	raw io.Writer
}

func (c *csvPrinter) print(script string, p conncat.Piece, res *conncat.Result, err error) {
	if res != nil && res.Columns != nil {
		cols := make([]string, len(res.Columns))
		for i, name := range res.Columns {
			cols[i] = printable(name)
		}
		c.w.Write(cols)
		for _, row := range res.Rows {
			vals := make([]string, len(row))
			for i, v := range row {
				vals[i] = cell(v)
			}
			c.w.Write(vals)
		}
	}
	c.w.Flush()
	if err != nil {
		writeError(c.raw, script, p, err)
	}
}

type jsonPrinter struct{ enc *json.Encoder }

type jsonError struct {
	Code     string  `json:"code"`
	Message  string  `json:"message"`
	Detail   *string `json:"detail"`
	Hint     *string `json:"hint"`
	Position *int    `json:"position"`
}

// jsonLine is one statement's outcome, in the field order of issue #6.
type jsonLine struct {
	Statement string     `json:"statement"`
	Tag       *string    `json:"tag"`
	Columns   []string   `json:"columns"`
	Rows      [][]any    `json:"rows"`
	Notices   []string   `json:"notices"`
	Error     *jsonError `json:"error"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (j *jsonPrinter) print(script string, p conncat.Piece, res *conncat.Result, err error) {
	// The echo is the statement as typed with possible secrets hidden; it
	// needs no successful parse.
	line := jsonLine{Statement: strings.TrimSpace(conncat.Redact(p.Text))}
	if res != nil {
		line.Tag, line.Columns, line.Rows, line.Notices = optional(res.Tag), res.Columns, res.Rows, res.Notices
	}
	if err != nil {
		je := &jsonError{Code: conncat.CodeInternal, Message: err.Error()}
		var e *conncat.Error
		if errors.As(err, &e) {
			je.Code, je.Message, je.Detail, je.Hint = e.Code, e.Message, optional(e.Detail), optional(e.Hint)
			// 1-based character position within the echoed statement, as
			// PostgreSQL reports it.
			start := p.Offset + len(p.Text) - len(strings.TrimLeft(p.Text, " \t\r\n"))
			if e.Position >= start && e.Position <= len(script) {
				pos := utf8.RuneCountInString(script[start:e.Position]) + 1
				je.Position = &pos
			}
		}
		line.Error = je
	}
	j.enc.Encode(line)
}
