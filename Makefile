# ssevent: run `make help` for the targets.

GO        ?= go
WASM_DIR  := $(shell $(GO) env GOROOT)/lib/wasm
WASM_ENV  := GOOS=js GOARCH=wasm
# Fuzz time per target in `make test`; `make fuzz` runs longer.
FUZZTIME  ?= 5s
# Length of the soak run (waves of 2,000 clients) in `make test`.
SOAKTIME  ?= 2m
# The Go modules (docs/MODULES.md): every directory with a go.mod, the root
# first. A new module is picked up by its go.mod.
MODULES   := . $(sort $(filter-out .,$(patsubst ./%,%,$(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './.git/*' -not -path '*/node_modules/*' -not -path '*/testdata/*')))))
# Runs its argument (a shell command) in every module, stopping at the first failure.
each = set -e; for m in $(MODULES); do echo "[$$m] $(1)"; (cd $$m && $(1)); done

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: test
test: deps vet check-deps crossbuild test-go test-wasm test-fuzz soak ## Everything CI runs: vet, gofmt, dependency and cross-build checks, race tests, short fuzzing, soak.

.PHONY: deps
deps: ## Install what the tests need (chromium, redis-server, brotli) where possible.
	@.ci/install-deps

.PHONY: modules
modules: ## List the Go modules.
	@echo $(MODULES)

.PHONY: tidy
tidy: ## go mod tidy in every module, twice: a module's tidy can change what the modules requiring it need.
	@$(call each,$(GO) mod tidy)
	@$(call each,$(GO) mod tidy)

.PHONY: vet
vet: ## go vet of every module (host, and wasm for the browser packages) and gofmt.
	@$(call each,$(GO) vet ./...)
	$(WASM_ENV) $(GO) vet ./shared/... ./wasmclient/... ./static/...
	cd wasmclient/goapp && $(WASM_ENV) $(GO) vet ./...
	cd cmd && $(WASM_ENV) $(GO) vet ./ssevent-demo/...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: check-deps
check-deps: ## A module importing only server needs no heavy dependency and Go 1.25 is enough; every module's graph resolves.
	@GO=$(GO) .ci/check-deps

.PHONY: crossbuild
crossbuild: ## go build and go vet of every module for linux, darwin, windows, freebsd, and of the browser packages for js/wasm.
	@GO=$(GO) .ci/crossbuild $(MODULES)

.PHONY: test-go
test-go: ## Host tests of every module with the race detector; the hub's tests once more on its standard stream path.
	@GO=$(GO) .ci/test-go $(MODULES)

# A failing input is saved under testdata/fuzz and fails the run; a run
# that fails without one (Go 1.26's coordinator can report "context deadline
# exceeded" as -fuzztime ends) is tried again (.ci/test-fuzz).
.PHONY: test-fuzz
test-fuzz: ## A short run of every fuzz target.
	@GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/test-fuzz $(MODULES)

.PHONY: soak
soak: ## Soak test: waves of 2,000 clients for SOAKTIME (without -race: too many goroutines for it).
	$(GO) vet -tags soak .
	SSEVENT_SOAK_DURATION=$(SOAKTIME) $(GO) test -tags soak -run '^TestSoak$$' -count=1 -timeout 15m -v .

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
test-wasm: ## Browser client logic under GOOS=js GOARCH=wasm with Node (wasmclient, and wasmclient/goapp in its module).
	NODE_OPTIONS=--experimental-eventsource $(WASM_ENV) $(GO) test -count=1 -timeout 5m \
	  -exec=$(WASM_DIR)/go_js_wasm_exec ./wasmclient/...
	cd wasmclient/goapp && NODE_OPTIONS=--experimental-eventsource $(WASM_ENV) $(GO) test -count=1 -timeout 5m \
	  -exec=$(WASM_DIR)/go_js_wasm_exec ./...

.PHONY: bench
bench: ## Go benchmarks (encoders, Send fan-out and unicast, coalesced writes, replay, churn, POST) and short load runs with ssevent-bench (docs/PERFORMANCE.md).
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 10m .
	cd cmd && $(GO) build -o ../bin/ssevent-bench ./ssevent-bench
	bin/ssevent-bench -n 2000 -m 1000 -size 256 -impl hub-release -pause 20ms
	bin/ssevent-bench -n 2000 -m 1000 -size 256 -impl ceiling -pause 20ms
	bin/ssevent-bench -n 2000 -m 1000 -size 256 -impl hub-std -pause 20ms
	bin/ssevent-bench -n 2000 -m 500 -size 256 -proto tls
	bin/ssevent-bench -n 2000 -m 500 -size 256 -proto h2
	bin/ssevent-bench -n 2000 -m 100 -size 256 -rate 10
	bin/ssevent-bench -n 2000 -m 100 -size 256 -rate 10 -impl bare
	bin/ssevent-bench -n 2000 -m 20 -size 256 -rate 10 -unicast

# The demo lives in the cmd module; it runs from the repository's root,
# where its default -wasm, -htmx and -datastar paths point.
DEMO_WASM := cmd/ssevent-demo/web/app.wasm
REDIS_URL ?= redis://127.0.0.1:6379/0
# The clients of the demo's htmx and Datastar pages, served by the demo
# itself: htmx.org and htmx-ext-sse from npm, pinned by the browser tests'
# lock file; Datastar's v1 client (not on npm) from its Go module, copied
# to bin/datastar.
HYPERMEDIA_NPM := internal/e2e/testdata/hypermedia
DATASTAR_MOD   := github.com/starfederation/datastar@v1.0.2

.PHONY: run
run: wasm demo-wasm demo-js ## Build every wasm, fetch the pages' clients, start the demo on http://127.0.0.1:8080 (SSEVENT_ADDR, REDIS_URL).
	cd cmd && $(GO) build -o ../bin/ssevent-demo ./ssevent-demo
	bin/ssevent-demo

# A client that cannot be fetched is reported and the demo starts anyway:
# its page says it cannot work.
.PHONY: demo-js
demo-js: ## Fetch the demo pages' clients: htmx (npm ci) and Datastar v1.0.2 (go mod download, into bin/datastar).
	@if [ -f $(HYPERMEDIA_NPM)/node_modules/htmx.org/dist/htmx.min.js ] && [ -f $(HYPERMEDIA_NPM)/node_modules/htmx-ext-sse/dist/sse.min.js ]; then \
	  echo "htmx: $(HYPERMEDIA_NPM)/node_modules"; \
	elif ! command -v npm >/dev/null 2>&1; then \
	  echo "htmx: npm not found (apt-get install npm): the demo's htmx page will not work" >&2; \
	elif (cd $(HYPERMEDIA_NPM) && npm ci --no-audit --no-fund --loglevel=error); then \
	  echo "htmx: installed in $(HYPERMEDIA_NPM)/node_modules"; \
	else \
	  echo "htmx: npm ci in $(HYPERMEDIA_NPM) failed: the demo's htmx page will not work" >&2; \
	fi
	@mkdir -p bin; \
	out=$$(cd "$${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod $(GO) mod download -json $(DATASTAR_MOD) 2>&1); \
	dir=$$(printf '%s\n' "$$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	if [ -n "$$dir" ] && [ -f "$$dir/bundles/datastar.js" ] && mkdir -p bin/datastar && cp -f "$$dir/bundles/datastar.js" bin/datastar/ && chmod 644 bin/datastar/datastar.js; then \
	  echo "Datastar: bin/datastar/datastar.js ($(DATASTAR_MOD), from the Go module proxy)"; \
	else \
	  printf '%s\n' "$$out" | sed -n 's/^[[:space:]]*"Error": /  /p' >&2; \
	  if [ -f bin/datastar/datastar.js ]; then \
	    echo "Datastar: go mod download $(DATASTAR_MOD) failed: keeping bin/datastar/datastar.js, fetched before" >&2; \
	  else \
	    echo "Datastar: go mod download $(DATASTAR_MOD) failed (the Go module proxy is needed once): the demo's Datastar page will not work" >&2; \
	  fi; \
	fi

.PHONY: demo-wasm
demo-wasm: ## Build the demo's go-app frontend into cmd/ssevent-demo/web/app.wasm (not committed).
	cd cmd && $(WASM_ENV) $(GO) build -trimpath -ldflags='-s -w' -o ../$(DEMO_WASM) ./ssevent-demo

.PHONY: demo-redis
demo-redis: wasm demo-wasm demo-js ## Two demos, :8080 and :8081, sharing one hub on a running Redis (REDIS_URL).
	cd cmd && $(GO) build -o ../bin/ssevent-demo ./ssevent-demo
	bin/ssevent-demo -addr 127.0.0.1:8081 -redis '$(REDIS_URL)' & pid=$$!; trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	bin/ssevent-demo -addr 127.0.0.1:8080 -redis '$(REDIS_URL)'
