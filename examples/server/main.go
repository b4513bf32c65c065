// Command server speaks the PostgreSQL wire protocol over a conncat
// catalog, so that psql and PostgreSQL drivers run the dialect:
//
//	CONNCAT_SERVER_PASSWORD=... go run ./examples/server -listen 127.0.0.1:6875 -db conncat.db
//	psql "postgres://conncat@127.0.0.1:6875/conncat?sslmode=disable"
//
// It authenticates one user with SCRAM-SHA-256, serves TLS when given a
// certificate (and refuses to listen beyond loopback without one), limits
// connections and closes idle ones.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/cliflags"
)

type config struct {
	cliflags.OpenFlags
	listen, user, passwordFile, tlsCert, tlsKey string
	// usersFile holds SCRAM verifiers of many users, each a role.
	usersFile    string
	makeVerifier bool
	// maxConns bounds logged-in sessions; maxStartups the sockets still
	// starting up or authenticating (see startups).
	maxConns, maxStartups                  int
	idleTimeout, authTimeout, writeTimeout time.Duration
	// plaintextLoopback lets a loopback client skip TLS on a TLS server.
	plaintextLoopback bool
	// memoryLimit is the Go runtime's soft memory limit (0: Go's default).
	memoryLimit int64
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	if cfg.makeVerifier {
		if err := makeVerifier(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(stderr, "server:", err)
			return 2
		}
		return 0
	}
	srv, err := newServer(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 2
	}
	if cfg.memoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		// Results are bounded (-max-process-result-bytes); this keeps the
		// garbage of many large ones from doubling the heap on top.
		debug.SetMemoryLimit(cfg.memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cat, err := conncat.Open(ctx, cfg.DB, cfg.Options()...)
	if err != nil {
		fmt.Fprintln(stderr, "server: cannot open the catalog:", err)
		return 2
	}
	defer cat.Close()
	srv.cat = cat
	l, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 2
	}
	fmt.Fprintf(stderr, "conncat server listening on %s\n", l.Addr())
	go func() { <-ctx.Done(); l.Close() }()
	if err := srv.serve(ctx, l); err != nil {
		fmt.Fprintln(stderr, "server: stopped serving:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:6875", "address to listen on; beyond loopback only with -tls-cert")
	cfg.Register(fs)
	fs.StringVar(&cfg.user, "user", "conncat", "the user clients log in as")
	fs.StringVar(&cfg.passwordFile, "password-file", "", "file holding the user's password (else CONNCAT_SERVER_PASSWORD)")
	fs.StringVar(&cfg.usersFile, "users", "", "file of users, one name:SCRAM-SHA-256$... verifier a line (mode 600); each user's sessions run as the catalog role of that name. Replaces -user and the password")
	fs.BoolVar(&cfg.makeVerifier, "make-verifier", false, "print the SCRAM-SHA-256 verifier of the password on standard input, for a -users file, and exit")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "TLS certificate (PEM)")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fs.IntVar(&cfg.maxConns, "max-connections", 100, "logged-in sessions served at once; more are refused with 53300")
	fs.IntVar(&cfg.maxStartups, "max-startups", 100, "connections not yet logged in at once; beyond it a new one takes the place of a socket silent for 1s, or is refused with 53300")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", 10*time.Minute, "close a connection idle this long")
	fs.DurationVar(&cfg.authTimeout, "authentication-timeout", 30*time.Second, "close a connection that has not logged in after this long")
	fs.DurationVar(&cfg.writeTimeout, "write-timeout", time.Minute, "close a connection whose client has not read what the server sent for this long")
	fs.Int64Var(&cfg.memoryLimit, "memory-limit", 320<<20, "the Go heap's soft limit in bytes (the garbage collector works harder near it); 0 leaves it to GOMEMLIMIT")
	fs.BoolVar(&cfg.plaintextLoopback, "allow-plaintext-loopback", false, "with -tls-cert, still let clients on loopback log in without TLS")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		return nil, errors.New("usage")
	}
	if cfg.maxConns < 1 || cfg.maxStartups < 1 || cfg.idleTimeout <= 0 || cfg.authTimeout <= 0 || cfg.writeTimeout <= 0 {
		fmt.Fprintln(stderr, "-max-connections, -max-startups and the timeouts must be positive")
		return nil, errors.New("usage")
	}
	return cfg, nil
}

// newServer checks what the server must never start without: a password,
// and TLS when it listens beyond loopback.
func newServer(cfg *config, stderr io.Writer) (*server, error) {
	users, err := configuredUsers(cfg)
	if err != nil {
		return nil, err
	}
	decoyKey := make([]byte, 32)
	if _, err := rand.Read(decoyKey); err != nil {
		return nil, err
	}
	srv := &server{cfg: cfg, users: users, roles: cfg.usersFile != "", decoyKey: decoyKey, slots: make(chan struct{}, cfg.maxConns),
		startups: newStartups(cfg.maxStartups), sessions: map[uint32]*session{}, stderr: stderr}
	if cfg.tlsCert != "" || cfg.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		srv.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if srv.tls == nil && !loopbackOnly(cfg.listen) {
		return nil, fmt.Errorf("refusing to listen on %s without TLS: give -tls-cert and -tls-key, or listen on 127.0.0.1", cfg.listen)
	}
	return srv, nil
}

// configuredUsers is who may log in: the users file's users, or the one
// -user with the password from CONNCAT_SERVER_PASSWORD or -password-file.
func configuredUsers(cfg *config) (map[string]*verifier, error) {
	if cfg.usersFile != "" {
		return loadUsers(cfg.usersFile)
	}
	password := os.Getenv("CONNCAT_SERVER_PASSWORD")
	if cfg.passwordFile != "" {
		b, err := os.ReadFile(cfg.passwordFile)
		if err != nil {
			return nil, err
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if password == "" {
		return nil, errors.New("no password: set CONNCAT_SERVER_PASSWORD or -password-file, or give -users (the server authenticates every client with SCRAM-SHA-256)")
	}
	v, err := newVerifier(password)
	if err != nil {
		return nil, err
	}
	return map[string]*verifier{cfg.user: v}, nil
}

// loopbackOnly reports whether addr can be reached only from this machine.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
