package awscreds

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/conncat/conncat/connection"
)

// DefaultRegion is the region a connection uses when neither it nor the
// engine's config names one: the one where global STS and S3 answer.
const DefaultRegion = "us-east-1"

// Region is the region of a connection's calls: its REGION, else the
// engine's (base), else DefaultRegion.
func Region(spec connection.Spec, base string) string {
	switch {
	case spec.Region != "":
		return spec.Region
	case base != "":
		return base
	}
	return DefaultRegion
}

// ConfigFor is the engine's config (base) pointed at a connection: its
// region and its ENDPOINT, signed by creds. The data plane hands it out;
// VALIDATE builds its clients from it, so both reach the same place.
func ConfigFor(base aws.Config, spec connection.Spec, creds aws.CredentialsProvider) aws.Config {
	cfg := base.Copy()
	cfg.Credentials = creds
	cfg.Region = Region(spec, base.Region)
	if spec.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(spec.Endpoint)
	}
	return cfg
}

// S3Options are the S3 client settings of a connection beyond its
// config: with an ENDPOINT (MinIO and other S3-compatible stores) the
// client uses path-style addressing, which those stores expect.
func S3Options(spec connection.Spec) func(*s3.Options) {
	return func(o *s3.Options) { o.UsePathStyle = spec.Endpoint != "" }
}

// NewS3Client is the S3 client of a connection (see ConfigFor, S3Options).
func NewS3Client(base aws.Config, spec connection.Spec, creds aws.CredentialsProvider, optFns ...func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(ConfigFor(base, spec, creds), append([]func(*s3.Options){S3Options(spec)}, optFns...)...)
}
