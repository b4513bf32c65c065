# The test command (README): vet, the race-enabled test suite, and a short
# run of every fuzz target. FUZZTIME sets how long each fuzz target runs.
FUZZTIME ?= 5s
GO ?= go

.PHONY: test vet unit fuzz bench repl fmt-check minio

# MinIO for the S3 integration tests, built from a pinned version (about
# 2.5 minutes the first time) and kept in the user cache between runs.
# The tests start and stop it themselves (internal/testenv).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/conncat/bin/minio
export CONNCAT_MINIO := $(MINIO_BIN)

test: fmt-check vet minio unit fuzz

minio:
	@if [ ! -x "$(MINIO_BIN)" ]; then \
		echo "installing MinIO $(MINIO_VERSION) into $(dir $(MINIO_BIN))"; \
		mkdir -p "$(dir $(MINIO_BIN))" && \
		cd / && GOBIN="$(dir $(MINIO_BIN))" GOFLAGS= $(GO) install github.com/minio/minio@$(MINIO_VERSION); \
	fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target runs on its own: go test allows one -fuzz pattern per package run.
fuzz:
	@scripts/fuzz-all.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench.out

repl:
	$(GO) run ./examples/repl
