package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/conncat/conncat"
)

// credsCommand is \creds NAME: the data plane fetches the connection's
// credentials as an engine's reader or writer would (AWSConfig, then
// Retrieve), so a newcomer sees them obtained, or sees why not in
// VALIDATE's words (conncat.Explain), and mz_aws_connection_statuses fills.
// The credentials themselves are never shown.
func credsCommand(ctx context.Context, cat *conncat.Catalog, args []string) (*conncat.Result, error) {
	if len(args) != 1 {
		return nil, metaError(conncat.CodeSyntaxError, `usage: \creds CONNECTION`)
	}
	name := strings.Trim(args[0], `"`)
	cfg, err := cat.AWSConfig(ctx, name)
	if err != nil {
		return nil, err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, explained(err)
	}
	expires := "never (access keys)"
	if creds.CanExpire {
		expires = creds.Expires.UTC().Format(time.RFC3339)
	}
	return &conncat.Result{Tag: "CREDENTIALS", Columns: []string{"connection", "region", "expires_at"},
		Rows:    [][]any{{name, cfg.Region, expires}},
		Notices: []string{"SELECT * FROM mz_internal.mz_aws_connection_statuses shows the health of the credentials this process holds."}}, nil
}

// explained is a data-plane error as an *conncat.Error: conncat's own as
// they are, AWS's told as VALIDATE tells them.
func explained(err error) error {
	var e *conncat.Error
	if errors.As(err, &e) && conncat.Explain(err).Code == e.Code {
		return err
	}
	x := conncat.Explain(err)
	return &conncat.Error{Code: conncat.CodeInternal, Position: -1, Message: "credentials could not be obtained: " + x.Message, Hint: x.Hint}
}
