package awstest

import (
	"testing"
)

// FuzzPolicy: any document either parses or is refused with an error, and
// a parsed policy evaluates any request without panicking; a policy with
// no Allow statement never allows.
func FuzzPolicy(f *testing.F) {
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/p"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}`,
		`{"Statement":{"Effect":"Deny","Principal":"*","Action":["sts:*"],"Condition":{"StringLikeIfExists":{"aws:PrincipalTag/team":"a*"}}}}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333"]},"Action":"sts:AssumeRole","Condition":{"Null":{"sts:ExternalId":"true"}}}]}`,
		`{}`, `[]`, `null`, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":7}}]}`,
	} {
		f.Add(doc, "sts:AssumeRole", "arn:aws:iam::111122223333:role/p", "x")
	}
	f.Fuzz(func(t *testing.T, doc, action, callerARN, externalID string) {
		p, err := ParsePolicy(doc)
		if err != nil {
			return
		}
		caller := Caller{ARN: callerARN, Account: "111122223333"}
		d := p.Evaluate(action, caller, map[string]string{"sts:ExternalId": externalID})
		_ = d.String()
		hasAllow := false
		for _, s := range p.Statement {
			hasAllow = hasAllow || s.Effect == "Allow"
		}
		if d == Allowed && !hasAllow {
			t.Fatalf("allowed by a policy without an Allow statement: %s", doc)
		}
	})
}
