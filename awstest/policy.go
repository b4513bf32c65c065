package awstest

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// Policy is an IAM trust policy as this package evaluates it.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a trust policy.
type Statement struct {
	Sid       string                          `json:"Sid,omitempty"`
	Effect    string                          `json:"Effect"`
	Principal Principal                       `json:"Principal"`
	Action    stringList                      `json:"Action"`
	Condition map[string]map[string]strOrList `json:"Condition,omitempty"`
}

// strOrList is an IAM value: a string or a list of strings.
type strOrList = stringList

// stringList decodes IAM's "a string or a list of strings".
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*l = many
	return nil
}

// Principal is "*" or {"AWS": ...}.
type Principal struct {
	Any bool
	AWS stringList
}

func (p *Principal) UnmarshalJSON(b []byte) error {
	var star string
	if err := json.Unmarshal(b, &star); err == nil {
		if star != "*" {
			return fmt.Errorf(`principal string must be "*", got %q`, star)
		}
		p.Any = true
		return nil
	}
	var m map[string]stringList
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("principal: %v", err)
	}
	for k, v := range m {
		if k != "AWS" {
			return fmt.Errorf("principal type %q is not supported (only AWS)", k)
		}
		p.AWS = v
	}
	return nil
}

// ParsePolicy parses and checks a trust policy document.
func ParsePolicy(doc string) (*Policy, error) {
	var p Policy
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("malformed policy: %v", err)
	}
	if len(p.Statement) == 0 {
		return nil, fmt.Errorf("malformed policy: no statements")
	}
	for i, s := range p.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, fmt.Errorf("malformed policy: statement %d has effect %q", i, s.Effect)
		}
		if !s.Principal.Any && len(s.Principal.AWS) == 0 {
			return nil, fmt.Errorf("malformed policy: statement %d has no principal", i)
		}
		for op := range s.Condition {
			if _, ok := conditionOps[strings.TrimSuffix(op, "IfExists")]; !ok {
				return nil, fmt.Errorf("malformed policy: condition operator %q is not supported", op)
			}
		}
	}
	return &p, nil
}

// Caller is who makes a request, as trust policies see it.
type Caller struct {
	// ARN is the user ARN, or for a role session the session's ARN
	// (arn:aws:sts::<acct>:assumed-role/<role>/<session>).
	ARN string
	// RoleARN is the role a session belongs to, "" for users.
	RoleARN string
	Account string
	// SourceIdentity is the session's source identity, "" for none.
	SourceIdentity string
}

// Decision is the outcome of evaluating a policy.
type Decision int

const (
	// ImplicitDeny: no statement allowed the request.
	ImplicitDeny Decision = iota
	Allowed
	// ExplicitDeny: a Deny statement matched; no Allow can override it.
	ExplicitDeny
)

func (d Decision) String() string {
	return [...]string{"implicit deny", "allow", "explicit deny"}[d]
}

// Evaluate decides an action for a caller with the given request context
// keys (e.g. "sts:ExternalId"; a missing key is absent from ctx), as IAM
// does: an explicit Deny wins, else any Allow, else deny.
func (p *Policy) Evaluate(action string, caller Caller, ctx map[string]string) Decision {
	allowed := false
	for _, s := range p.Statement {
		if !s.matchesAction(action) || !s.Principal.matches(caller) || !conditionsHold(s.Condition, ctx) {
			continue
		}
		if s.Effect == "Deny" {
			return ExplicitDeny
		}
		allowed = true
	}
	if allowed {
		return Allowed
	}
	return ImplicitDeny
}

func (s Statement) matchesAction(action string) bool {
	for _, a := range s.Action {
		if a == "*" || strings.EqualFold(a, action) || wildcardMatch(strings.ToLower(a), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

// matches applies IAM's principal rules for trust policies: "*" is
// anyone; an account ID or account root ARN is any identity of that
// account; a role ARN matches that role's sessions; a user or session
// ARN matches exactly.
func (p Principal) matches(c Caller) bool {
	if p.Any {
		return true
	}
	for _, want := range p.AWS {
		switch {
		case want == "*":
			return true
		case want == c.Account, want == "arn:aws:iam::"+c.Account+":root":
			return true
		case want == c.ARN, c.RoleARN != "" && want == c.RoleARN:
			return true
		}
	}
	return false
}

var conditionOps = map[string]func(have string, want []string) bool{
	"StringEquals": func(have string, want []string) bool {
		for _, w := range want {
			if have == w {
				return true
			}
		}
		return false
	},
	"StringNotEquals": func(have string, want []string) bool {
		for _, w := range want {
			if have == w {
				return false
			}
		}
		return true
	},
	"StringLike": func(have string, want []string) bool {
		for _, w := range want {
			if wildcardMatch(w, have) {
				return true
			}
		}
		return false
	},
	"StringEqualsIgnoreCase": func(have string, want []string) bool {
		for _, w := range want {
			if strings.EqualFold(have, w) {
				return true
			}
		}
		return false
	},
	// Null is handled in conditionsHold: it tests presence, not value.
	"Null": nil,
}

// conditionsHold evaluates a statement's conditions: every operator and
// every key must hold. A key missing from the request fails every
// operator except Null and the ...IfExists forms, which is why a trust
// policy requiring sts:ExternalId refuses a caller that sends none.
func conditionsHold(cond map[string]map[string]strOrList, ctx map[string]string) bool {
	for op, keys := range cond {
		base, ifExists := strings.CutSuffix(op, "IfExists")
		for key, want := range keys {
			have, present := lookupKey(ctx, key)
			if base == "Null" {
				// "Null": "true" holds when the key is absent.
				wantAbsent := len(want) > 0 && strings.EqualFold(want[0], "true")
				if present == wantAbsent {
					return false
				}
				continue
			}
			if !present {
				if ifExists {
					continue
				}
				return false
			}
			if !conditionOps[base](have, want) {
				return false
			}
		}
	}
	return true
}

// lookupKey finds a condition key; IAM compares key names without case.
func lookupKey(ctx map[string]string, key string) (string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// wildcardMatch matches IAM's StringLike patterns: * is any run of
// characters, ? is one character, and nothing else is special.
func wildcardMatch(pattern, s string) bool {
	// path.Match treats [ and \ specially; IAM does not, so escape them.
	escaped := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`).Replace(pattern)
	// path.Match's * stops at '/', IAM's does not: match with '/' hidden.
	const slash = "\x00"
	ok, err := path.Match(strings.ReplaceAll(escaped, "/", slash), strings.ReplaceAll(s, "/", slash))
	return err == nil && ok
}

// TrustWithoutExternalID is the trust policy a careless customer pastes:
// it lets principal assume the role with no condition, so no external ID is
// asked for. VALIDATE CONNECTION must fail external_id_required on it.
func TrustWithoutExternalID(principal string) string {
	b, _ := json.Marshal(principal) // a string always marshals
	return `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ` + string(b) + `}, "Action": "sts:AssumeRole"}]}`
}
