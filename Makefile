# ssevent: run `make help` for the targets.

GO        ?= go
WASM_DIR  := $(shell $(GO) env GOROOT)/lib/wasm
WASM_ENV  := GOOS=js GOARCH=wasm
# Fuzz time per target in `make test`; `make fuzz` runs longer.
FUZZTIME  ?= 5s

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: test
test: vet test-go test-fuzz ## Everything CI runs: vet, gofmt, race tests, short fuzzing.

.PHONY: vet
vet: ## go vet (host and wasm) and gofmt.
	$(GO) vet ./...
	$(WASM_ENV) $(GO) vet ./shared/...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: test-go
test-go: ## Host tests with the race detector.
	$(GO) test -race -count=1 -timeout 20m ./...

.PHONY: test-fuzz
test-fuzz: ## A short run of every fuzz target.
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || \
	      { $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; exit 1; }; \
	  done; \
	done

.PHONY: fuzz
fuzz: ## Longer fuzzing (FUZZTIME=1m by default here).
	$(MAKE) test-fuzz FUZZTIME=1m
