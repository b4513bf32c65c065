package conncat

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlparse"
	"github.com/conncat/conncat/validate"
)

// validationColumns are VALIDATE CONNECTION's result columns (DESIGN §5).
var validationColumns = func() []string {
	names := make([]string, len(catalog.ValidationColumns))
	for i, c := range catalog.ValidationColumns {
		names[i] = c.Name
	}
	return names
}()

// runValidation runs the checks of a resolved connection; s3 overrides the
// S3 connection's own prefix (WITH (S3 PATH = ...)).
func (c *Catalog) runValidation(ctx context.Context, r *catalog.Resolved, s3 *connection.S3URL) ([]validate.Result, error) {
	ambient, err := c.plane.Ambient(ctx)
	if err != nil {
		return nil, err
	}
	if s3 == nil {
		s3 = r.S3
	}
	opts := validate.Options{Ambient: ambient, OnSTSCall: func(operation string, err error) {
		c.meters.stsCall(ctx, operation, "validate", err)
	}}
	if fn, ok := ctx.Value(progressKey{}).(func(CheckProgress)); ok {
		opts.Progress = func(r validate.Result) {
			fn(CheckProgress{Check: r.Check, Status: string(r.Status), Message: r.Message, Duration: r.Duration})
		}
	}
	// The checks assume the role as the data plane will: limited to the
	// path they check, saying who asked when session identity is on.
	target, err := c.plane.ValidationTarget(ctx, r, s3)
	if err != nil {
		return nil, err
	}
	return validate.Run(ctx, target, opts), nil
}

// The checks of VALIDATE CONNECTION, in the order it runs them, by the
// names its rows and CheckProgress carry.
const (
	CheckCredentials        = validate.CheckCredentials
	CheckExternalIDRequired = validate.CheckExternalIDRequired
	CheckBucketRegion       = validate.CheckBucketRegion
	CheckList               = validate.CheckList
	CheckWrite              = validate.CheckWrite
	CheckRead               = validate.CheckRead
	CheckDelete             = validate.CheckDelete
	CheckMultipart          = validate.CheckMultipart
)

// CheckProgress is one finished check of a running validation.
type CheckProgress struct {
	Check, Status, Message string
	Duration               time.Duration
}

type progressKey struct{}

// WithValidationProgress returns a context under which VALIDATE
// CONNECTION and CREATE/ALTER ... WITH (VALIDATE) call fn as each check
// finishes, before the statement returns: a front end can show a long
// run as it happens. Calls are serialized and may come from other
// goroutines. Like net/http/httptrace, the hook rides on the context
// because it belongs to one call, not to the catalog.
func WithValidationProgress(ctx context.Context, fn func(CheckProgress)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// validationFailed is the XX000 error of a run with failed checks; its
// detail lists them so that engines that only read errors still see why.
func validationFailed(name string, pos int, results []validate.Result) *Error {
	var failed []string
	for _, r := range results {
		if r.Status == validate.Fail {
			failed = append(failed, r.Check+": "+r.Message)
		}
	}
	e := &Error{Code: sqlstate.Internal, Position: pos,
		Message: fmt.Sprintf("validation of connection %q failed", name),
		Detail:  strings.Join(failed, "\n")}
	for _, r := range results {
		if r.Status == validate.Fail && r.Hint != "" {
			e.Hint = r.Hint // the first failure's hint: fixing it comes first
			break
		}
	}
	return e
}

func toCheckResults(results []validate.Result) []catalog.CheckResult {
	out := make([]catalog.CheckResult, len(results))
	for i, r := range results {
		out[i] = catalog.CheckResult{Check: r.Check, Status: string(r.Status), Message: r.Message}
	}
	return out
}

// validateConnection runs VALIDATE CONNECTION: every check, the results
// recorded in mz_connection_validations, the rows returned, and an XX000
// error beside them when a check failed. Inside a block it checks the
// connection as the block leaves it, and the block records the results
// when it commits; no lock is held while AWS is asked, in a block or not.
func (c *Catalog) validateConnection(ctx context.Context, block *catalog.Block, s *sqlparse.ValidateConnection) (*Result, error) {
	resolve, record := c.cat.Resolve, func(ctx context.Context, r *Resolved, results []catalog.CheckResult) error {
		return c.cat.RecordValidation(ctx, r.ID, results)
	}
	if block != nil {
		resolve, record = block.Resolve, block.RecordValidation
	}
	r, err := resolve(ctx, s.Name.Value)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Position < 0 {
			e.Position = s.Name.Pos
		}
		return nil, err
	}
	results, err := c.runValidation(ctx, r, s.S3Path)
	if err != nil {
		return nil, err
	}
	c.events.validated(ctx, r, results)
	c.meters.validated(ctx, results)
	if err := record(ctx, r, toCheckResults(results)); err != nil {
		return nil, err
	}
	res := &Result{Tag: "VALIDATE CONNECTION", Columns: validationColumns}
	for _, v := range results {
		res.Rows = append(res.Rows, []any{v.Check, string(v.Status), v.Message, v.Hint, v.Duration.Milliseconds()})
	}
	if validate.Failed(results) {
		return res, validationFailed(r.Name, s.Pos(), results)
	}
	return res, nil
}

// validateBeforeCommit is the catalog.Validator of CREATE/ALTER ... WITH
// (VALIDATE): it sees the connection as the statement leaves it.
func (c *Catalog) validateBeforeCommit(ctx context.Context, r *catalog.Resolved) ([]catalog.CheckResult, error) {
	results, err := c.runValidation(ctx, r, nil)
	if err != nil {
		return nil, err
	}
	c.events.validated(ctx, r, results)
	c.meters.validated(ctx, results)
	if validate.Failed(results) {
		e := validationFailed(r.Name, -1, results)
		e.Message += "; the statement was not applied"
		return nil, e
	}
	return toCheckResults(results), nil
}
