package conncat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
)

// TestMetrics reads conncat's instruments through the SDK's manual reader
// and checks their values: one STS call for one role connection however
// many configs, statements by kind, VALIDATE's checks, and the seconds
// until the served credentials expire, per connection ID.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	cat := openTest(t, conncat.WithMeterProvider(provider), conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)))
	ctx := context.Background()
	mustExec(t, cat, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = '`+customerRole+`'); CREATE SECRET sk AS 'fake-secret-metrics'`)
	if err := fake.AddRole(customerRole, pastedTrustPolicy(t, cat, "r")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		cfg, err := cat.AWSConfig(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, cat, `SELECT count(*) FROM mz_connections`)
	_, _ = cat.Exec(ctx, `VALIDATE CONNECTION r`)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	metrics := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			metrics[m.Name] = m
		}
	}
	sum := func(name string, match func(map[string]string) bool) (total int64) {
		t.Helper()
		data, ok := metrics[name].Data.(metricdata.Sum[int64])
		if !ok {
			t.Fatalf("%s: %T", name, metrics[name].Data)
		}
		for _, dp := range data.DataPoints {
			if match(attrs(dp.Attributes.ToSlice())) {
				total += dp.Value
			}
		}
		return total
	}
	stsCalls := func(operation, purpose, result string) int64 {
		return sum("conncat.sts.calls", func(a map[string]string) bool {
			return a["operation"] == operation && a["purpose"] == purpose && a["result"] == result
		})
	}
	if n := stsCalls("AssumeRole", "credentials", "ok"); n != 1 {
		t.Errorf("STS calls: %d, want 1 for three configs of one connection", n)
	}
	// VALIDATE's own: the role assumed with the external ID, and refused
	// without it (the proof that the external ID is required).
	if ok, refused := stsCalls("AssumeRole", "validate", "ok"), stsCalls("AssumeRole", "validate", "error"); ok != 1 || refused != 1 {
		t.Errorf("VALIDATE's STS calls: %d ok, %d refused; want 1 and 1", ok, refused)
	}
	if n := fake.Calls("AssumeRole"); int64(n) != stsCalls("AssumeRole", "credentials", "ok")+2 {
		t.Errorf("the fake STS saw %d AssumeRole calls; the metrics do not add up to it", n)
	}
	hist := func(name string, match func(map[string]string) bool) (count uint64) {
		t.Helper()
		data, ok := metrics[name].Data.(metricdata.Histogram[float64])
		if !ok {
			t.Fatalf("%s: %T", name, metrics[name].Data)
		}
		for _, dp := range data.DataPoints {
			if match(attrs(dp.Attributes.ToSlice())) {
				count += dp.Count
			}
		}
		return count
	}
	if n := hist("conncat.statement.duration", func(a map[string]string) bool { return a["kind"] == "CREATE" && a["result"] == "ok" }); n != 2 {
		t.Errorf("CREATE statements: %d, want 2", n)
	}
	if n := hist("conncat.statement.duration", func(a map[string]string) bool { return a["kind"] == "SELECT" }); n != 1 {
		t.Errorf("SELECT statements: %d, want 1", n)
	}
	if n := hist("conncat.validate.check.duration", func(a map[string]string) bool { return a["check"] == "credentials" && a["status"] == "PASS" }); n != 1 {
		t.Errorf("validate credentials checks: %d, want 1", n)
	}
	gauge, ok := metrics["conncat.credentials.expires_in"].Data.(metricdata.Gauge[float64])
	if !ok || len(gauge.DataPoints) != 1 {
		t.Fatalf("expires_in: %+v", metrics["conncat.credentials.expires_in"].Data)
	}
	if v := gauge.DataPoints[0].Value; v < 3000 || v > 3600 {
		t.Errorf("expires_in %v s, want about an hour", v)
	}
	if id := attrs(gauge.DataPoints[0].Attributes.ToSlice())["connection_id"]; id != "u1" {
		t.Errorf("expires_in for %q, want u1", id)
	}
	var everything strings.Builder
	for name, m := range metrics {
		everything.WriteString(name)
		everything.WriteString(strings.Join([]string{m.Description, m.Unit}, " "))
		for _, set := range attributeSets(m.Data) {
			fmt.Fprintln(&everything, attrs(set.ToSlice()))
		}
	}
	if !strings.Contains(everything.String(), "connection_id:u1") {
		t.Fatalf("the attribute dump misses what it must hold: %s", everything.String())
	}
	if strings.Contains(everything.String(), "fake-secret-metrics") {
		t.Fatal("a metric holds the secret")
	}
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.Emit()
	}
	return out
}

// attributeSets are the attribute sets of every data point of a metric.
func attributeSets(data metricdata.Aggregation) []attribute.Set {
	var sets []attribute.Set
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	}
	return sets
}
