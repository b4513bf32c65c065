# The test command (README): vet, the race-enabled test suite, and a short
# run of every fuzz target. FUZZTIME sets how long each fuzz target runs.
FUZZTIME ?= 5s
GO ?= go

.PHONY: test vet unit fuzz bench repl fmt-check

test: fmt-check vet unit fuzz

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
