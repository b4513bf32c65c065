package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/peterh/liner"

	"github.com/conncat/conncat"
)

const help = `Statements end with ';' and may span lines. Commands:
  \q          quit
  \?          this help
  \d          list connections
  \d NAME     describe a connection (CREATE statement, trust policy, S3 bucket and prefix)
  \x [on|off|auto]  expanded display: one "column | value" line each (auto: when wider than the screen)
  \creds NAME fetch a connection's credentials as the data plane does (then see mz_internal.mz_aws_connection_statuses)
Try:
  CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/MyRole');
  SHOW TRUST POLICY FOR CONNECTION aws_conn;
  SELECT name, type FROM mz_connections;`

// completionWords are the words offered by tab completion: the dialect's
// keywords, the SELECT words it hands to the query engine, the tables.
var completionWords = append(append(conncat.Keywords(),
	"FROM", "WHERE", "JOIN", "ON", "ORDER", "GROUP", "LIMIT"), conncat.Tables()...)

func (s *session) interactive(ctx context.Context, db string) {
	line := liner.NewLiner()
	defer line.Close()
	line.SetCtrlCAborts(true)
	line.SetMultiLineMode(true)
	histFile := historyFile()
	if f, err := os.Open(histFile); err == nil {
		line.ReadHistory(f)
		f.Close()
	}
	line.SetWordCompleter(func(text string, pos int) (string, []string, string) {
		return s.complete(ctx, text, pos)
	})
	fmt.Fprintf(s.stdout, "conncat on %s. Type \\? for help, \\q to quit.\n", displayTarget(db))
	if s.sandbox != nil {
		fmt.Fprintln(s.stdout, "Sandbox: AWS is played in-process. \\sandbox shows how.")
	}
	var buf strings.Builder
	for ctx.Err() == nil {
		if !s.readLine(ctx, line, &buf) {
			break
		}
	}
	if f, err := os.OpenFile(histFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err == nil {
		line.WriteHistory(f)
		f.Close()
	}
}

// historyFile is where the REPL keeps its history: ~/.conncat_history, or
// in the temporary directory without a home.
func historyFile() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".conncat_history")
	}
	return filepath.Join(os.TempDir(), ".conncat_history")
}

// readLine reads one line into buf and runs what it completes: a
// meta-command, or the statements typed so far once they end with ';'.
// It reports whether the session goes on.
func (s *session) readLine(ctx context.Context, line *liner.State, buf *strings.Builder) bool {
	text, err := line.Prompt(promptFor(buf.Len() > 0, s.cs.TxStatus()))
	switch {
	case errors.Is(err, liner.ErrPromptAborted):
		buf.Reset()
		return true
	case err == io.EOF:
		fmt.Fprintln(s.stdout)
		if len(conncat.Split(buf.String())) > 0 {
			// As psql, it is not run; unlike psql, say so.
			fmt.Fprintln(s.stdout, "The statement typed so far was not run: it did not end with ';'.")
		}
		return false
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return false
	}
	if trimmed := strings.TrimSpace(text); isMetaLine(buf.String(), text) {
		line.AppendHistory(trimmed)
		if isReset(trimmed) {
			buf.Reset()
			fmt.Fprintln(s.stdout, "Query buffer reset (cleared).")
			return true
		}
		if s.meta(ctx, trimmed); s.quit {
			return false
		}
		s.halted = false // -on-error stop ends scripts, not an interactive session
		return true
	}
	buf.WriteString(text)
	buf.WriteByte('\n')
	if !statementComplete(buf.String()) {
		return true
	}
	script := buf.String()
	buf.Reset()
	// History holds the redacted text: secrets never reach the file.
	line.AppendHistory(historyEntry(script))
	s.runScript(ctx, script)
	s.halted = ctx.Err() != nil
	return true
}

// promptFor is psql's prompt: "=" waiting for a statement, "-" in the
// middle of one, with "*" inside a transaction block and "!" inside a
// failed one.
func promptFor(continuing bool, status byte) string {
	mark := "="
	if continuing {
		mark = "-"
	}
	switch status {
	case conncat.TxInTx:
		mark += "*"
	case conncat.TxFailed:
		mark += "!"
	}
	return "conncat" + mark + "> "
}

// statementComplete reports whether the buffer's last statement ended
// with a ';' outside strings and comments. Only blanks and comments may
// follow it (psql runs "VALIDATE CONNECTION c;  -- why" at the ';'): Split
// ends the last piece just before its ';', and anything but comments
// after it would be a piece of its own.
func statementComplete(text string) bool {
	pieces := conncat.Split(text)
	if len(pieces) == 0 {
		return strings.HasSuffix(strings.TrimRight(text, " \t\r\n"), ";")
	}
	last := pieces[len(pieces)-1]
	return last.Offset+len(last.Text) < len(text)
}

// isReset reports \r, which clears the statement typed so far.
func isReset(cmd string) bool { return strings.Fields(cmd)[0] == `\r` }

// withoutTrailingComment drops a "-- ..." comment after a backslash
// command's arguments, as psql ignores it: "\sandbox trust demo  -- why".
func withoutTrailingComment(cmd string) string {
	if i := strings.Index(cmd, " --"); i >= 0 {
		return strings.TrimSpace(cmd[:i])
	}
	return cmd
}

// isMetaLine reports whether line is a backslash command given the
// statement text pending before it: as in psql, also in the middle of a
// statement, but never inside a string or a block comment (a line of a
// multi-line secret that starts with a backslash is the secret's, and must
// not be run, or echoed in an error, as a command). pending is inside
// neither when a ';' added to it would end it.
func isMetaLine(pending, line string) bool {
	if !strings.HasPrefix(strings.TrimSpace(line), `\`) {
		return false
	}
	return len(conncat.Split(pending)) == 0 || statementComplete(pending+";")
}

// meta runs a backslash command; \q halts the session.
func (s *session) meta(ctx context.Context, cmd string) {
	cmd = withoutTrailingComment(cmd)
	fields := strings.Fields(cmd)
	piece := conncat.Piece{Text: cmd}
	switch fields[0] {
	case `\q`:
		s.quit, s.halted = true, true
	case `\?`, `\h`:
		text := help
		if s.sandbox != nil {
			text += "\n\n" + sandboxHelp
		}
		s.text(cmd, "HELP", text)
	case `\d`:
		if len(fields) == 1 {
			s.runScript(ctx, "SHOW CONNECTIONS")
			return
		}
		res, err := s.describe(ctx, strings.Trim(fields[1], `"`))
		// One wide record: shown a line per column, as psql describes.
		if t, ok := s.out.(*tablePrinter); ok {
			defer func(mode string) { t.expanded = mode }(t.expanded)
			t.expanded = expandedOn
		}
		s.report(cmd, piece, res, err)
	case `\x`:
		s.expanded(cmd, piece, fields[1:])
	case `\creds`:
		res, err := credsCommand(ctx, s.cat, fields[1:])
		s.report(cmd, piece, res, err)
	case `\sandbox`:
		if s.sandbox != nil && len(fields) == 1 {
			s.text(cmd, "SANDBOX", sandboxHelp)
			return
		}
		res, err := s.sandbox.command(ctx, s.cat, fields[1:])
		s.report(cmd, piece, res, err)
	default:
		e := metaError(conncat.CodeSyntaxError, "unknown command %s", fields[0])
		e.Hint = `\? lists the commands.`
		s.report(cmd, piece, nil, e)
	}
}

// expanded is \x [on|off|auto]: without an argument it toggles, as in
// psql. It changes table output only.
func (s *session) expanded(cmd string, piece conncat.Piece, args []string) {
	t, ok := s.out.(*tablePrinter)
	if !ok {
		s.report(cmd, piece, nil, metaError(conncat.CodeFeatureNotSupported, `\x applies to -format table only`))
		return
	}
	mode := expandedOn
	switch {
	case len(args) == 0 && t.expanded != expandedOff:
		mode = expandedOff
	case len(args) == 1 && (args[0] == expandedOn || args[0] == expandedOff || args[0] == expandedAuto):
		mode = args[0]
	case len(args) > 0:
		e := metaError(conncat.CodeInvalidParameterValue, `\x takes on, off or auto, not %q`, strings.Join(args, " "))
		s.report(cmd, piece, nil, e)
		return
	}
	t.expanded = mode
	s.text(cmd, "EXPANDED", "Expanded display is "+mode+".")
}

// describe is \d NAME: one record with what Catalog.Describe gives (no
// secret is opened) and the CREATE statement. An unknown name is an error
// about the command, not about a query behind it.
func (s *session) describe(ctx context.Context, name string) (*conncat.Result, error) {
	d, err := s.cs.Describe(ctx, name)
	if err != nil {
		var e *conncat.Error
		if errors.As(err, &e) && e.Code == conncat.CodeUndefinedObject {
			e.Hint = `\d lists the connections.`
		}
		return nil, err
	}
	created, err := s.cs.Exec(ctx, "SHOW CREATE CONNECTION "+conncat.QuoteIdent(d.Name))
	if err != nil {
		return nil, err
	}
	res := &conncat.Result{Tag: "DESCRIBE", Columns: []string{"name", "id", "type", "create_sql", "aws_connection"}}
	row := []any{d.Name, d.ID, string(d.Type), created[0].Rows[0][1], d.AWSConnection}
	// Every option the table stores in a column, read as SELECT shows it:
	// an option added to the table shows here with no edit.
	options, err := s.cs.Exec(ctx, "SELECT "+strings.Join(conncat.OptionColumns(), ", ")+
		", principal, external_id FROM mz_aws_connections a JOIN mz_connections c USING (id) WHERE c.name = $1", d.AWSConnection)
	if err != nil {
		return nil, err
	}
	if len(options[0].Rows) == 1 {
		res.Columns = append(res.Columns, options[0].Columns...)
		row = append(row, options[0].Rows[0]...)
	}
	orNull := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	// The policies indented, as they are pasted.
	res.Columns = append(res.Columns, "trust_policy", "bucket", "prefix", "permission_policy")
	res.Rows = [][]any{append(row, orNull(d.TrustPolicy), orNull(d.Bucket), orNull(d.Prefix), orNull(d.PermissionPolicy))}
	return res, nil
}

// text shows a block of text: as is in table and csv output, as notices
// of a JSON line in json output (so every line stays one object).
func (s *session) text(cmd, tag, text string) {
	if s.format != "json" {
		fmt.Fprintln(s.stdout, text)
		return
	}
	s.out.print(cmd, conncat.Piece{Text: cmd}, &conncat.Result{Tag: tag, Notices: strings.Split(text, "\n")}, nil)
}

// historyEntry is how a statement is kept in the history: redacted, and on
// one line. The line editor redraws a recalled entry that holds a newline
// once per keypress, filling the screen with copies of it.
func historyEntry(script string) string {
	redacted := strings.TrimSpace(conncat.Redact(script))
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(redacted)
}
