package validate

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/connection"
)

// The AWS calls VALIDATE makes, one interface each, as the SDK's clients
// declare them: *sts.Client and *s3.Client satisfy them, and tests pass
// fakes that script every answer.
type (
	// GetCallerIdentityAPI proves static keys.
	GetCallerIdentityAPI interface {
		GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
	}
	// HeadBucketAPI finds the bucket's region (bucket_region).
	HeadBucketAPI interface {
		HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	}
	// ListObjectsV2API lists the prefix (list).
	ListObjectsV2API interface {
		ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	}
	// PutObjectAPI writes the test object (write).
	PutObjectAPI interface {
		PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	}
	// GetObjectAPI reads it back (read).
	GetObjectAPI interface {
		GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	}
	// DeleteObjectAPI removes it (delete).
	DeleteObjectAPI interface {
		DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	}
	// HeadObjectAPI confirms it is gone (delete).
	HeadObjectAPI interface {
		HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	}
	// CreateMultipartUploadAPI starts a multipart upload (multipart).
	CreateMultipartUploadAPI interface {
		CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	}
	// AbortMultipartUploadAPI aborts it (multipart).
	AbortMultipartUploadAPI interface {
		AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	}
)

// STSAPI is every STS call of a run.
type STSAPI interface {
	awscreds.AssumeRoleAPI
	GetCallerIdentityAPI
}

// S3API is every S3 call of a run; each check takes only its own.
type S3API interface {
	HeadBucketAPI
	ListObjectsV2API
	objectAPI
	CreateMultipartUploadAPI
	AbortMultipartUploadAPI
}

// objectAPI is what write, read and delete need together.
type objectAPI interface {
	PutObjectAPI
	GetObjectAPI
	DeleteObjectAPI
	HeadObjectAPI
}

// Clients makes the clients of a run. The zero value makes real ones from
// Options.Ambient.
type Clients struct {
	// STS returns a client for one hop of spec, signed by creds.
	STS func(spec connection.Spec, creds aws.CredentialsProvider) STSAPI
	// S3 returns a client for spec's S3, signed by creds.
	S3 func(spec connection.Spec, creds aws.CredentialsProvider) S3API
}

// withDefaults fills the unset factories with the SDK's clients, built
// from ambient as the data plane builds them, plus the middleware that
// remembers why the last retried attempt failed.
func (c Clients) withDefaults(ambient aws.Config) Clients {
	if c.STS == nil {
		c.STS = func(spec connection.Spec, creds aws.CredentialsProvider) STSAPI {
			return sts.NewFromConfig(ambient, awscreds.STSOptions(spec, creds), func(o *sts.Options) {
				o.APIOptions = append(o.APIOptions, recordAttempts)
			})
		}
	}
	if c.S3 == nil {
		c.S3 = func(spec connection.Spec, creds aws.CredentialsProvider) S3API {
			return awscreds.NewS3Client(ambient, spec, creds, func(o *s3.Options) {
				o.APIOptions = append(o.APIOptions, recordAttempts)
			})
		}
	}
	return c
}

// countSTS wraps an STS factory so that every call is reported to report.
func countSTS(newSTS func(connection.Spec, aws.CredentialsProvider) STSAPI, report func(string, error)) func(connection.Spec, aws.CredentialsProvider) STSAPI {
	return func(spec connection.Spec, creds aws.CredentialsProvider) STSAPI {
		return countedSTS{STSAPI: newSTS(spec, creds), report: report}
	}
}

type countedSTS struct {
	STSAPI
	report func(operation string, err error)
}

func (c countedSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	out, err := c.STSAPI.AssumeRole(ctx, in, optFns...)
	c.report("AssumeRole", err)
	return out, err
}

func (c countedSTS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	out, err := c.STSAPI.GetCallerIdentity(ctx, in, optFns...)
	c.report("GetCallerIdentity", err)
	return out, err
}
