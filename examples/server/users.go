package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// A users file holds one line per user: name:SCRAM-SHA-256$<iterations>:
// <salt>$<StoredKey>:<ServerKey> — PostgreSQL's own verifier format (what
// pg_authid.rolpassword holds), so a password never lies on disk; blank
// lines and lines starting with # are skipped. Each user's sessions run
// as the catalog role of the same name. -make-verifier prints a line's
// verifier for a password read from standard input.

// loadUsers reads a users file. It must be private (mode 0600 or
// stricter): a verifier lets whoever reads it guess passwords offline.
func loadUsers(path string) (map[string]*verifier, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("users file %s is readable by others (mode %o): chmod 600 it", path, info.Mode().Perm())
	}
	users := map[string]*verifier{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, text, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("users file %s, line %d: want name:SCRAM-SHA-256$...", path, n)
		}
		v, err := parseVerifier(text)
		if err != nil {
			// Never the line itself: it may be a password typed by mistake.
			return nil, fmt.Errorf("users file %s, line %d (user %q): %v", path, n, name, err)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("users file %s, line %d: user %q appears twice", path, n, name)
		}
		users[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("users file %s names no user", path)
	}
	return users, nil
}

// parseVerifier reads SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
func parseVerifier(text string) (*verifier, error) {
	rest, ok := strings.CutPrefix(text, "SCRAM-SHA-256$")
	if !ok {
		return nil, fmt.Errorf("not a SCRAM-SHA-256 verifier (a plain password is never accepted: make one with -make-verifier)")
	}
	head, keys, ok := strings.Cut(rest, "$")
	iterText, saltText, ok2 := strings.Cut(head, ":")
	storedText, serverText, ok3 := strings.Cut(keys, ":")
	if !ok || !ok2 || !ok3 {
		return nil, fmt.Errorf("malformed verifier: want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")
	}
	iterations, err := strconv.Atoi(iterText)
	if err != nil || iterations < 4096 || iterations > 1<<24 {
		return nil, fmt.Errorf("iteration count must be a number from 4096 to %d", 1<<24)
	}
	v := &verifier{iterations: iterations}
	for _, f := range []struct {
		text string
		dst  *[]byte
		size int
	}{{saltText, &v.salt, 0}, {storedText, &v.storedKey, sha256.Size}, {serverText, &v.serverKey, sha256.Size}} {
		b, err := base64.StdEncoding.DecodeString(f.text)
		if err != nil || len(b) == 0 || (f.size > 0 && len(b) != f.size) {
			return nil, fmt.Errorf("malformed verifier: bad base64 or length")
		}
		*f.dst = b
	}
	return v, nil
}

// format writes v as a users file's verifier.
func (v *verifier) format() string {
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", v.iterations, enc(v.salt), enc(v.storedKey), enc(v.serverKey))
}

// makeVerifier prints the verifier of the password on in (its first line).
func makeVerifier(in io.Reader, out io.Writer) error {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return err
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return fmt.Errorf("no password on standard input")
	}
	v, err := newVerifier(password)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, v.format())
	return err
}
