// Command repl is conncat's interactive shell and script runner: the first
// thing a newcomer runs, and the harness script-level tests drive.
//
//	go run ./examples/repl                       # interactive, on ./conncat.db
//	go run ./examples/repl -c 'SHOW CONNECTIONS' # one statement
//	go run ./examples/repl -format json < setup.sql
//
// Exit status: 0 when every statement succeeded, 1 when any failed, 2 for
// bad flags or a catalog that cannot be opened.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/cliflags"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, "; ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type config struct {
	cliflags.OpenFlags
	format, onError, file string
	sandbox, dbGiven      bool
	// single runs -c and -f input as one transaction (psql's -1).
	single bool
	// role runs every statement as this role (conncat.WithRole).
	role     string
	commands stringList
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage is a start-up failure already reported to stderr: exit 2.
var errUsage = errors.New("usage")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	out, err := newPrinter(cfg.format, stdout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := cfg.Options()
	var sb *sandbox
	if cfg.sandbox {
		var sbOpts []conncat.Option
		var cleanup func()
		if sb, sbOpts, cleanup, err = startSandbox(cfg); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		defer cleanup()
		opts = append(opts, sbOpts...)
	}
	cat, err := conncat.Open(ctx, cfg.DB, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "cannot open catalog %s: %v\n", displayTarget(cfg.DB), err)
		return 2
	}
	defer cat.Close()
	if cfg.role != "" {
		ctx = conncat.WithRole(ctx, cfg.role)
	}
	s := &session{cat: cat, cs: cat.NewSession(), out: out, format: cfg.format, stdout: stdout, stopOnError: cfg.onError == "stop" || cfg.single, sandbox: sb}
	if err := s.runInputs(ctx, cfg, stdin, stderr); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if s.cs.InBlock() {
		// As psql: input that ends inside a block leaves it uncommitted.
		s.cs.Close()
		fmt.Fprintln(stderr, "The input ended inside a transaction block, which was rolled back (end it with COMMIT).")
		s.failed = true
	}
	if s.failed {
		return 1
	}
	return 0
}

// parseFlags reads the command line (and the environment variables that
// stand for flags) and checks it; errors are already on stderr.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("repl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Register(fs)
	fs.StringVar(&cfg.format, "format", cliflags.EnvOr("CONNCAT_FORMAT", "table"), "output format: table, csv or json (CONNCAT_FORMAT)")
	fs.StringVar(&cfg.onError, "on-error", cliflags.EnvOr("CONNCAT_ON_ERROR", "continue"), "after a failed statement: continue or stop (CONNCAT_ON_ERROR)")
	fs.BoolVar(&cfg.sandbox, "sandbox", os.Getenv("CONNCAT_SANDBOX") == "1", "play AWS in-process (fake STS with a principal and a customer role); the catalog is temporary unless -db is given (CONNCAT_SANDBOX=1)")
	fs.StringVar(&cfg.file, "f", "", "run the statements in this file")
	fs.Var(&cfg.commands, "c", "run this SQL (repeatable)")
	fs.StringVar(&cfg.role, "role", os.Getenv("CONNCAT_ROLE"), "run every statement as this role: it owns what it creates and reaches others' objects only when granted USAGE (CONNCAT_ROLE; none: a superuser)")
	fs.BoolVar(&cfg.single, "1", false, "run the -c commands or the -f file as one transaction: all of it or, at the first error, none (as psql -1)")
	fs.BoolVar(&cfg.single, "single-transaction", false, "the same as -1")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	cfg.dbGiven = os.Getenv("CONNCAT_DB") != ""
	fs.Visit(func(f *flag.Flag) { cfg.dbGiven = cfg.dbGiven || f.Name == "db" })
	var problem string
	switch {
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case cfg.onError != "continue" && cfg.onError != "stop":
		problem = fmt.Sprintf("-on-error must be continue or stop, not %q", cfg.onError)
	case cfg.single && len(cfg.commands) == 0 && cfg.file == "":
		problem = "-1 applies to -c or -f input"
	case cfg.sandbox && cfg.Principal != "":
		problem = "-sandbox brings its own principal; drop -principal"
	}
	if problem != "" {
		fmt.Fprintln(stderr, problem)
		return nil, errUsage
	}
	return cfg, nil
}

// displayTarget is the catalog's location as it may be printed: a URL
// without its password.
func displayTarget(target string) string {
	if !conncat.IsPostgresURL(target) {
		return target
	}
	u, err := url.Parse(target)
	if err != nil {
		return "the PostgreSQL URL given (it does not parse)"
	}
	return u.Redacted()
}

// startSandbox starts the in-process AWS and, unless -db was given, points
// the catalog at a temporary file: a sandbox session leaves nothing behind
// unless asked to. cleanup undoes both.
func startSandbox(cfg *config) (*sandbox, []conncat.Option, func(), error) {
	sb, opts, err := newSandbox()
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.dbGiven {
		return sb, opts, sb.Close, nil
	}
	dir, err := os.MkdirTemp("", "conncat-sandbox")
	if err != nil {
		sb.Close()
		return nil, nil, nil, err
	}
	cfg.DB = filepath.Join(dir, "sandbox.db")
	return sb, opts, func() { sb.Close(); os.RemoveAll(dir) }, nil
}

// runInputs runs -c commands, else the -f file, else stdin: a terminal
// interactively, anything else as a script.
func (s *session) runInputs(ctx context.Context, cfg *config, stdin io.Reader, stderr io.Writer) error {
	if cfg.single {
		s.runInput(ctx, "BEGIN;")
		defer s.endSingle(ctx)
	}
	switch {
	case len(cfg.commands) > 0:
		for _, c := range cfg.commands {
			if s.runInput(ctx, c); s.halted {
				break
			}
		}
		return nil
	case cfg.file != "":
		b, err := os.ReadFile(cfg.file)
		if err != nil {
			return err
		}
		s.runInput(ctx, string(b))
		return nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) && cfg.format == "table" {
		s.progress = newSpinner(stderr)
		s.interactive(ctx, cfg.DB)
		return nil
	}
	b, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	s.runInput(ctx, string(b))
	return nil
}

// endSingle ends -1's block: COMMIT, or ROLLBACK after an error.
func (s *session) endSingle(ctx context.Context) {
	if s.failed {
		s.halted = false
		s.runInput(ctx, "ROLLBACK;")
		s.failed = true
		return
	}
	s.runInput(ctx, "COMMIT;")
}

type session struct {
	cat *conncat.Catalog
	// cs holds the session's transaction block (BEGIN ... COMMIT).
	cs          *conncat.Session
	out         printer
	format      string
	stdout      io.Writer
	stopOnError bool
	sandbox     *sandbox
	// progress, when set (a terminal), shows long statements as they run.
	progress *spinner
	// failed: some statement failed (exit status 1). halted: stop reading
	// input (-on-error stop, \q, an interrupt, or an error that is not a
	// statement's own).
	failed, halted, quit bool
}

// runInput runs a script line by line: a line starting with a backslash
// outside strings and block comments is a meta command (\d, \sandbox,
// ...), run at once even in the middle of a statement, as in psql (\r
// clears the statement); everything else is SQL, run as soon as a
// statement is complete.
func (s *session) runInput(ctx context.Context, input string) {
	var pending strings.Builder
	flush := func() {
		if pending.Len() > 0 {
			s.runScript(ctx, pending.String())
			pending.Reset()
		}
	}
	for _, line := range strings.SplitAfter(input, "\n") {
		if s.halted {
			return
		}
		trimmed := strings.TrimSpace(line)
		if isMetaLine(pending.String(), line) {
			if len(conncat.Split(pending.String())) == 0 || isReset(trimmed) {
				pending.Reset() // only blanks and comments, or \r
			}
			if !isReset(trimmed) {
				s.meta(ctx, trimmed)
			}
			continue
		}
		pending.WriteString(line)
		if statementComplete(pending.String()) {
			flush()
		}
	}
	if !s.halted {
		flush()
	}
}

// runScript runs every statement of a script, reporting each. It splits
// without parsing, so one bad statement does not hide the next.
func (s *session) runScript(ctx context.Context, script string) {
	for _, p := range conncat.Split(script) {
		if s.halted {
			return
		}
		res, err := s.exec(ctx, script, p)
		s.report(script, p, res, err)
		if ctx.Err() != nil {
			s.halted = true
		}
	}
}

// exec runs one statement, with the spinner when there is a terminal.
func (s *session) exec(ctx context.Context, script string, p conncat.Piece) (*conncat.Result, error) {
	if s.progress == nil {
		return s.cs.ExecPiece(ctx, script, p)
	}
	stop := s.progress.start()
	defer stop()
	return s.cs.ExecPiece(conncat.WithValidationProgress(ctx, s.progress.checkDone), script, p)
}

// report prints a statement's outcome and records a failure.
func (s *session) report(script string, p conncat.Piece, res *conncat.Result, err error) {
	if s.sandbox != nil {
		sandboxS3Hints(res, err)
	}
	s.out.print(script, p, res, err)
	if err != nil {
		s.failed = true
		var e *conncat.Error
		if s.stopOnError || !errors.As(err, &e) {
			s.halted = true
		}
	}
}
