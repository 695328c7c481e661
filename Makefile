# ssevent: run `make help` for the targets.

GO        ?= go
WASM_DIR  := $(shell $(GO) env GOROOT)/lib/wasm
WASM_ENV  := GOOS=js GOARCH=wasm
# Fuzz time per target in `make test`; `make fuzz` runs longer.
FUZZTIME  ?= 5s
# Length of the soak run (waves of 2,000 clients) in `make test`.
SOAKTIME  ?= 2m

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: test
test: deps vet test-go test-wasm test-fuzz soak ## Everything CI runs: vet, gofmt, race tests, short fuzzing, soak.

.PHONY: deps
deps: ## Install what the tests need (chromium, redis-server, brotli) where possible.
	@.ci/install-deps

.PHONY: vet
vet: ## go vet (host and wasm) and gofmt.
	$(GO) vet ./...
	$(WASM_ENV) $(GO) vet ./shared/...
	$(WASM_ENV) $(GO) vet ./wasmclient/... ./static/... ./cmd/ssevent-demo/...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: test-go
test-go: ## Host tests with the race detector; the hub's tests once more on its standard stream path.
	$(GO) test -race -count=1 -timeout 20m ./...
	SSEVENT_STANDARD_PATH=1 $(GO) test -race -count=1 -timeout 10m ./server/

# A failing input is saved under testdata/fuzz and fails the second run too;
# a run that fails and leaves none is retried once (Go 1.26's fuzzing
# coordinator can report "context deadline exceeded" as -fuzztime ends).
.PHONY: test-fuzz
test-fuzz: ## A short run of every fuzz target.
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null 2>&1 || \
	      { echo "fuzz $$pkg $$f failed; running it again"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; }; \
	  done; \
	done

.PHONY: soak
soak: ## Soak test: waves of 2,000 clients for SOAKTIME (without -race: too many goroutines for it).
	$(GO) vet -tags soak ./server/
	SSEVENT_SOAK_DURATION=$(SOAKTIME) $(GO) test -tags soak -run '^TestSoak$$' -count=1 -timeout 15m -v ./server/

.PHONY: fuzz
fuzz: ## Longer fuzzing (FUZZTIME=1m by default here).
	$(MAKE) test-fuzz FUZZTIME=1m

.PHONY: wasm
wasm: ## Build the browser client: static/ssevent.wasm (+ .gz, .br) and wasm_exec.js.
	$(WASM_ENV) $(GO) build -trimpath -ldflags='-s -w' -o static/ssevent.wasm ./static/cmd/ssevent-wasm
	cp $(WASM_DIR)/wasm_exec.js static/wasm_exec.js
	gzip -9 -n -k -f static/ssevent.wasm
	@if command -v brotli >/dev/null 2>&1; then brotli -q 11 -f -o static/ssevent.wasm.br static/ssevent.wasm; \
	else echo "brotli not installed (apt-get install brotli): static/ssevent.wasm.br not rebuilt" >&2; fi
	@ls -l static/ssevent.wasm static/ssevent.wasm.gz static/ssevent.wasm.br

.PHONY: test-wasm
test-wasm: ## Browser client logic under GOOS=js GOARCH=wasm with Node.
	NODE_OPTIONS=--experimental-eventsource $(WASM_ENV) $(GO) test -count=1 -timeout 5m \
	  -exec=$(WASM_DIR)/go_js_wasm_exec ./wasmclient/...

.PHONY: bench
bench: ## Go benchmarks (encoders, Send fan-out, churn, POST) and a short load run with ssevent-bench.
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 10m ./server/
	$(GO) build -o bin/ssevent-bench ./cmd/ssevent-bench
	bin/ssevent-bench -n 2000 -m 1000 -size 256
	bin/ssevent-bench -n 10000 -m 500 -size 256
	bin/ssevent-bench -n 2000 -m 100 -size 256 -rate 10
	bin/ssevent-bench -n 2000 -m 100 -size 256 -rate 10 -impl bare

DEMO_WASM := cmd/ssevent-demo/web/app.wasm
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run
run: wasm demo-wasm ## Build every wasm and start the demo on http://127.0.0.1:8080 (SSEVENT_ADDR, REDIS_URL).
	$(GO) run ./cmd/ssevent-demo

.PHONY: demo-wasm
demo-wasm: ## Build the demo's go-app frontend into cmd/ssevent-demo/web/app.wasm (not committed).
	$(WASM_ENV) $(GO) build -trimpath -ldflags='-s -w' -o $(DEMO_WASM) ./cmd/ssevent-demo

.PHONY: demo-redis
demo-redis: wasm demo-wasm ## Two demos, :8080 and :8081, sharing one hub on a running Redis (REDIS_URL).
	$(GO) build -o bin/ssevent-demo ./cmd/ssevent-demo
	bin/ssevent-demo -addr 127.0.0.1:8081 -redis '$(REDIS_URL)' & pid=$$!; trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	bin/ssevent-demo -addr 127.0.0.1:8080 -redis '$(REDIS_URL)'
