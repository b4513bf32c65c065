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
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"

	"github.com/conncat/conncat"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, "; ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type config struct {
	db, principal, prefix, keyFile, format, onError, file string
	allowHTTP                                             bool
	commands                                              stringList
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var cfg config
	fs := flag.NewFlagSet("repl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.db, "db", envOr("CONNCAT_DB", "conncat.db"), "catalog database file (CONNCAT_DB)")
	fs.StringVar(&cfg.principal, "principal", os.Getenv("CONNCAT_PRINCIPAL_ARN"), "ARN of the role or user customers trust (CONNCAT_PRINCIPAL_ARN)")
	fs.StringVar(&cfg.prefix, "external-id-prefix", os.Getenv("CONNCAT_EXTERNAL_ID_PREFIX"), "prefix of generated external IDs (CONNCAT_EXTERNAL_ID_PREFIX)")
	fs.StringVar(&cfg.keyFile, "key-file", os.Getenv("CONNCAT_KEY_FILE"), "file holding the secret-sealing key; default <db>.key (CONNCAT_KEY_FILE)")
	fs.BoolVar(&cfg.allowHTTP, "allow-http-endpoints", os.Getenv("CONNCAT_ALLOW_HTTP_ENDPOINTS") == "1", "accept http:// endpoints on non-loopback hosts (CONNCAT_ALLOW_HTTP_ENDPOINTS=1)")
	fs.StringVar(&cfg.format, "format", envOr("CONNCAT_FORMAT", "table"), "output format: table, csv or json (CONNCAT_FORMAT)")
	fs.StringVar(&cfg.onError, "on-error", envOr("CONNCAT_ON_ERROR", "continue"), "after a failed statement: continue or stop (CONNCAT_ON_ERROR)")
	fs.StringVar(&cfg.file, "f", "", "run the statements in this file")
	fs.Var(&cfg.commands, "c", "run this SQL (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	out, err := newPrinter(cfg.format, stdout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if cfg.onError != "continue" && cfg.onError != "stop" {
		fmt.Fprintf(stderr, "-on-error must be continue or stop, not %q\n", cfg.onError)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := []conncat.Option{}
	if cfg.principal != "" {
		opts = append(opts, conncat.WithPrincipal(cfg.principal))
	}
	if cfg.prefix != "" {
		opts = append(opts, conncat.WithExternalIDPrefix(cfg.prefix))
	}
	if cfg.keyFile != "" {
		opts = append(opts, conncat.WithKeyFile(cfg.keyFile))
	}
	if cfg.allowHTTP {
		opts = append(opts, conncat.WithPlainHTTPEndpoints())
	}
	cat, err := conncat.Open(ctx, cfg.db, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "cannot open catalog %s: %v\n", cfg.db, err)
		return 2
	}
	defer cat.Close()
	s := &session{cat: cat, out: out, stopOnError: cfg.onError == "stop"}

	switch {
	case len(cfg.commands) > 0:
		for _, c := range cfg.commands {
			if !s.runScript(ctx, c) && s.stopOnError {
				break
			}
		}
	case cfg.file != "":
		b, err := os.ReadFile(cfg.file)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		s.runScript(ctx, string(b))
	default:
		if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) && cfg.format == "table" {
			s.interactive(ctx, cfg.db)
		} else {
			b, err := io.ReadAll(stdin)
			if err != nil {
				fmt.Fprintln(stderr, err)
				return 2
			}
			s.runScript(ctx, string(b))
		}
	}
	if s.failed {
		return 1
	}
	return 0
}

type session struct {
	cat         *conncat.Catalog
	out         printer
	stopOnError bool
	failed      bool
}

// runScript runs every statement of a script, reporting each. It splits
// without parsing, so one bad statement does not hide the next. It returns
// false when a statement failed.
func (s *session) runScript(ctx context.Context, script string) bool {
	ok := true
	for _, p := range conncat.Split(script) {
		res, err := s.cat.ExecPiece(ctx, script, p)
		s.out.print(script, p, res, err)
		if err != nil {
			ok, s.failed = false, true
			var e *conncat.Error
			if s.stopOnError || !errors.As(err, &e) {
				return false
			}
		}
		if ctx.Err() != nil {
			return false
		}
	}
	return ok
}
