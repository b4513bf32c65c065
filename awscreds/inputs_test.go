package awscreds

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/conncat/conncat/connection"
)

// TestEveryAssumeRoleInputIsAField: each option the table sends to
// AssumeRole as it is names a field of the SDK's AssumeRoleInput that its
// example value sets, so a misspelt or unsupported name in a new row fails
// here, not at a customer's first refresh.
func TestEveryAssumeRoleInputIsAField(t *testing.T) {
	n := 0
	for _, d := range connection.Options {
		if d.AssumeRoleInput == "" {
			continue
		}
		n++
		if d.Secret != connection.NotSecret {
			// Spec.Extra and Hop.Inputs are plain maps that print.
			t.Errorf("option %s goes to AssumeRole as it is but may hold a secret", d.Name)
		}
		if d.Example == "" {
			t.Errorf("option %s goes to AssumeRole but has no Example", d.Name)
			continue
		}
		if err := d.CheckValue(d.Example); err != nil {
			t.Errorf("option %s: its Example %q breaks its rule: %v", d.Name, d.Example, err)
			continue
		}
		var spec connection.Spec
		seconds := int64(0)
		if d.Value == connection.DurationValue {
			dur, err := connection.ParseDurationText(d.Example)
			if err != nil {
				t.Fatal(err)
			}
			seconds = int64(dur / time.Second)
		}
		d.SetField(&spec, d.Example, seconds)
		value, ok := d.InputValue(spec)
		if !ok {
			t.Errorf("option %s: its value did not reach the Spec", d.Name)
			continue
		}
		var in sts.AssumeRoleInput
		if err := SetAssumeRoleInput(&in, d.AssumeRoleInput, value); err != nil {
			t.Errorf("option %s: %v", d.Name, err)
		}
	}
	if n == 0 {
		t.Fatal("no option goes to AssumeRole as it is: ASSUME ROLE DURATION should")
	}
}

func TestSetAssumeRoleInput(t *testing.T) {
	var in sts.AssumeRoleInput
	if err := SetAssumeRoleInput(&in, "DurationSeconds", "7200"); err != nil || aws.ToInt32(in.DurationSeconds) != 7200 {
		t.Errorf("DurationSeconds: %v, %v", err, in.DurationSeconds)
	}
	if err := SetAssumeRoleInput(&in, "SerialNumber", "arn:aws:iam::123456789012:mfa/fake"); err != nil || aws.ToString(in.SerialNumber) != "arn:aws:iam::123456789012:mfa/fake" {
		t.Errorf("SerialNumber: %v, %v", err, in.SerialNumber)
	}
	for field, value := range map[string]string{
		"NoSuchInput":     "x",    // not a field
		"DurationSeconds": "2h",   // not a whole number
		"Tags":            "a=b",  // a list: no option value sets it
		"noCopy":          "x",    // unexported
		"PolicyArns":      "arn:", // a list of structs
	} {
		if err := SetAssumeRoleInput(&in, field, value); err == nil {
			t.Errorf("%s = %q was set", field, value)
		}
	}
}
