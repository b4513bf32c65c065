package conncat

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/dataplane"
	"github.com/conncat/conncat/validate"
)

// WithMeterProvider sends conncat's metrics to an OpenTelemetry meter
// provider (default: none recorded). Instruments, all under the meter
// "github.com/conncat/conncat":
//
//	conncat.sts.calls                    counter, operation, purpose (credentials: a refresh of served credentials, any hop; validate: VALIDATE's own) and result (ok/error)
//	conncat.credentials.refresh.duration histogram, seconds, result
//	conncat.credentials.refresh.failures counter, connection_id
//	conncat.credentials.expires_in       gauge, seconds until the served credentials expire, connection_id
//	conncat.validate.check.duration      histogram, seconds, check and status
//	conncat.statement.duration           histogram, seconds, kind (the command tag's verb) and result
//
// No attribute holds a secret: connections are named by ID.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// meters are conncat's instruments; made once per Catalog.
type meters struct {
	stsCalls        metric.Int64Counter
	refreshDuration metric.Float64Histogram
	refreshFailures metric.Int64Counter
	validateCheck   metric.Float64Histogram
	statement       metric.Float64Histogram
	registration    metric.Registration
}

func newMeters(mp metric.MeterProvider, plane *dataplane.Plane) (*meters, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter("github.com/conncat/conncat")
	var ms meters
	var err error
	if ms.stsCalls, err = m.Int64Counter("conncat.sts.calls", metric.WithDescription("STS calls made to refresh connections' credentials")); err != nil {
		return nil, err
	}
	if ms.refreshDuration, err = m.Float64Histogram("conncat.credentials.refresh.duration", metric.WithUnit("s")); err != nil {
		return nil, err
	}
	if ms.refreshFailures, err = m.Int64Counter("conncat.credentials.refresh.failures"); err != nil {
		return nil, err
	}
	if ms.validateCheck, err = m.Float64Histogram("conncat.validate.check.duration", metric.WithUnit("s")); err != nil {
		return nil, err
	}
	if ms.statement, err = m.Float64Histogram("conncat.statement.duration", metric.WithUnit("s")); err != nil {
		return nil, err
	}
	expiresIn, err := m.Float64ObservableGauge("conncat.credentials.expires_in", metric.WithUnit("s"),
		metric.WithDescription("seconds until the credentials served for a connection expire"))
	if err != nil {
		return nil, err
	}
	ms.registration, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for id, at := range plane.Expiries() {
			o.ObserveFloat64(expiresIn, time.Until(at).Seconds(), metric.WithAttributes(attribute.String("connection_id", id)))
		}
		return nil
	}, expiresIn)
	if err != nil {
		return nil, err
	}
	return &ms, nil
}

func result(err error) attribute.KeyValue {
	if err != nil {
		return attribute.String("result", "error")
	}
	return attribute.String("result", "ok")
}

func (m *meters) refreshed(id string, ev awscreds.RefreshEvent) {
	ctx := context.Background()
	m.stsCall(ctx, "AssumeRole", "credentials", ev.Err)
	m.refreshDuration.Record(ctx, ev.Took.Seconds(), metric.WithAttributes(result(ev.Err)))
	if ev.Err != nil {
		m.refreshFailures.Add(ctx, 1, metric.WithAttributes(attribute.String("connection_id", id)))
	}
}

func (m *meters) stsCall(ctx context.Context, operation, purpose string, err error) {
	m.stsCalls.Add(ctx, 1, metric.WithAttributes(attribute.String("operation", operation),
		attribute.String("purpose", purpose), result(err)))
}

func (m *meters) validated(ctx context.Context, results []validate.Result) {
	for _, r := range results {
		m.validateCheck.Record(ctx, r.Duration.Seconds(), metric.WithAttributes(
			attribute.String("check", r.Check), attribute.String("status", string(r.Status))))
	}
}

// statementDone records a statement's duration by its kind: the first
// word of its command tag ("CREATE", "SELECT", "VALIDATE", ...).
func (m *meters) statementDone(ctx context.Context, kind string, took time.Duration, err error) {
	m.statement.Record(ctx, took.Seconds(), metric.WithAttributes(attribute.String("kind", kind), result(err)))
}
