package dataplane

import (
	"strings"
	"unicode"

	"github.com/conncat/conncat/connection"
)

// identityRole is who a data-plane call's sessions are for: "" when
// session identity is off (one provider per connection, shared by all).
func (d *Plane) identityRole(role string, hasRole bool) string {
	switch {
	case d.identity == "":
		return ""
	case hasRole && role != "":
		return role
	}
	return d.identity
}

// sessionIdentity is role as a SourceIdentity: the characters AWS refuses
// become '_' and it is cut to 64, so any engine role name can be sent (the
// tag conncat:role keeps more of it).
func sessionIdentity(role string) string {
	b := []rune(role)
	for i, c := range b {
		if !(c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("_+=,.@-", c))) {
			b[i] = '_'
		}
	}
	if len(b) > connection.MaxSessionNameLen {
		b = b[:connection.MaxSessionNameLen]
	}
	id := string(b) // no ':' is left, so it cannot start with AWS's "aws:"
	for len(id) < connection.MinSessionNameLen {
		id += "_"
	}
	return id
}

// sessionTags are the tags of key's sessions, sorted by key.
func (d *Plane) sessionTags(key providerKey) []connection.Tag {
	var tags []connection.Tag
	if d.catalogName != "" {
		tags = append(tags, connection.Tag{Key: "conncat:catalog", Value: tagValue(d.catalogName)})
	}
	return append(tags,
		connection.Tag{Key: "conncat:connection", Value: key.id()},
		connection.Tag{Key: "conncat:role", Value: tagValue(key.role)})
}

// tagValue is s as a session tag value: up to 256 letters, digits, spaces
// and _.:/=+-@; anything else becomes '_'.
func tagValue(s string) string {
	b := []rune(s)
	for i, c := range b {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.Is(unicode.Zs, c) || strings.ContainsRune("_.:/=+-@", c)) {
			b[i] = '_'
		}
	}
	if len(b) > 256 {
		b = b[:256]
	}
	return string(b)
}
