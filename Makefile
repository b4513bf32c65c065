# The test command (README): vet, the race-enabled test suite, and a short
# run of every fuzz target. FUZZTIME is each target's budget: a count of
# executions (no wall-clock deadline to race on a busy machine; see
# scripts/fuzz-all.sh), or a duration such as 10m for a longer hunt.
FUZZTIME ?= 50000x
GO ?= go

.PHONY: test vet unit fuzz bench repl fmt-check minio node-pg drivers

# MinIO for the S3 integration tests, built from a pinned version (about
# 2.5 minutes the first time) and kept in the user cache between runs.
# The tests start and stop it themselves (internal/testenv).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/conncat/bin/minio
export CONNCAT_MINIO := $(MINIO_BIN)

test: fmt-check vet minio node-pg drivers unit fuzz

minio:
	@if [ ! -x "$(MINIO_BIN)" ]; then \
		echo "installing MinIO $(MINIO_VERSION) into $(dir $(MINIO_BIN))"; \
		mkdir -p "$(dir $(MINIO_BIN))" && \
		cd / && GOBIN="$(dir $(MINIO_BIN))" GOFLAGS= $(GO) install github.com/minio/minio@$(MINIO_VERSION); \
	fi

# node-postgres (pg), a PostgreSQL driver nobody here wrote, for the wire
# server's tests: installed from the npm registry at a pinned version into
# the user cache the first time.
NODE_PG_VERSION := 8.23.1
NODE_PG_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/conncat/node-pg-$(NODE_PG_VERSION)
export CONNCAT_NODE_PG := $(NODE_PG_DIR)/node_modules

node-pg:
	@if [ ! -d "$(NODE_PG_DIR)/node_modules/pg" ]; then \
		echo "installing node-postgres $(NODE_PG_VERSION) into $(NODE_PG_DIR)"; \
		mkdir -p "$(NODE_PG_DIR)" && \
		npm install --silent --no-audit --no-fund --prefix "$(NODE_PG_DIR)" pg@$(NODE_PG_VERSION); \
	fi

# The PostgreSQL drivers of other languages the wire server's tests use in
# their default modes (examples/server/drivers_test.go): psycopg2, psycopg 3
# with its pool, asyncpg, pgJDBC. Debian's packages, for Debian's Python
# (/usr/bin/python3) and the installed Java; installed only when missing.
DRIVER_PACKAGES := python3-psycopg2 python3-psycopg python3-psycopg-pool python3-asyncpg libpostgresql-jdbc-java
export CONNCAT_DRIVER_PYTHON := /usr/bin/python3
export CONNCAT_PGJDBC := /usr/share/java/postgresql.jar

drivers:
	@if ! $(CONNCAT_DRIVER_PYTHON) -c 'import psycopg2, psycopg, psycopg_pool, asyncpg' 2>/dev/null || [ ! -f "$(CONNCAT_PGJDBC)" ] || ! command -v java >/dev/null; then \
		echo "installing the PostgreSQL drivers the tests use: $(DRIVER_PACKAGES)"; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root, or: sudo apt-get install -y $(DRIVER_PACKAGES)"; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DRIVER_PACKAGES) $$(command -v java >/dev/null || echo default-jre-headless) >/dev/null; \
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

# Every benchmark, BENCHCOUNT runs each, one package at a time (-p 1: two
# packages benchmarking side by side on 2 cores distort each other), then the generated block of
# BENCHMARKS.md rewritten from the medians (internal/benchreport).
BENCHCOUNT ?= 6
bench: minio
	@echo "running every benchmark $(BENCHCOUNT) times (several minutes); raw output in bench.out"
	@$(GO) test -p 1 -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./... > bench.out 2>&1 || { cat bench.out; exit 1; }
	$(GO) run ./internal/benchreport -in bench.out -out BENCHMARKS.md

repl:
	$(GO) run ./examples/repl
