# mlpipe — make help lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X github.com/mlpipe/mlpipe/pkg/commands.Version=$(VERSION)
# Tools for the integration tests (kube-apiserver, etcd, Tekton's controller, MinIO, tkn) are built once into
# $(MLPIPE_TOOLS_CACHE) (default ~/.cache/mlpipe/tools, outside the clone), keyed by version: hack/lib/tools.sh.
TOOLS_ENV = eval "$$(hack/tools-env.sh)"; eval "$$(hack/build-triggers.sh --env)"

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/mlpipe and bin/mlpipe-step (the lean step image binary)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/mlpipe ./cmd/mlpipe
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/mlpipe-step ./cmd/mlpipe-step

.PHONY: run-example
run-example: ## Run the bundled example pipeline on this machine (no cluster)
	$(GO) run ./cmd/mlpipe run -f examples/churn/mlpipe.yaml

.PHONY: generate
generate: ## Regenerate the committed catalog Tasks in tasks/ (and generated code)
	$(GO) run ./hack/gen-catalog -o tasks
	@if [ -x hack/update-codegen.sh ]; then hack/update-codegen.sh; fi

.PHONY: verify-generated
verify-generated: ## Fail when tasks/ (or generated code) is stale
	$(GO) run ./hack/gen-catalog -o tasks -verify
	@if [ -x hack/verify-codegen.sh ]; then hack/verify-codegen.sh; fi

.PHONY: tools
tools: ## Build the real test parts into ~/.cache/mlpipe/tools once (kube-apiserver, etcd, kubelet, Tekton, Triggers, MinIO, tkn); apt-get the node's packages and chromium (the report's browser test)
	hack/install-node-packages.sh
	hack/install-chromium.sh
	hack/build-tools.sh
	hack/build-triggers.sh

.PHONY: vet
vet: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l cmd pkg test hack templates 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

.PHONY: test
test: tools verify-generated vet ## All tests: unit + integration on a real API server, Tekton controller, MinIO and tkn
	$(TOOLS_ENV); export MLPIPE_REQUIRE_TOOLS=1; $(GO) test -timeout 40m -count=1 ./...

.PHONY: test-unit
test-unit: ## Fast loop: unit tests only (integration tests skip without tools)
	$(GO) test -short -timeout 5m ./pkg/... ./cmd/...

.PHONY: test-integration
test-integration: tools ## Integration tests only (real API server, Tekton controller, MinIO, tkn)
	$(TOOLS_ENV); export MLPIPE_REQUIRE_TOOLS=1; $(GO) test -timeout 40m -count=1 ./test/...

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 60s)
	$(GO) test ./pkg/spec -run '^$$' -fuzz FuzzLoad -fuzztime $${FUZZTIME:-60s}
	$(GO) test ./pkg/events -run '^$$' -fuzz FuzzDecode -fuzztime $${FUZZTIME:-60s}

.PHONY: bench
bench: tools ## Benchmarks; writes a table to bench/results.md
	$(TOOLS_ENV); hack/bench.sh

.PHONY: dev-cluster
dev-cluster: tools ## Run a cluster here until Ctrl-C: the real node when possible, else a stand-in kubelet; MinIO; env in .dev-cluster/env; ARGS="-node stand-in -result evaluate.passed=false"
	hack/dev-cluster.sh $(ARGS)

.PHONY: dev-cluster-up
dev-cluster-up: tools ## Start that cluster in the background; returns when .dev-cluster/env is written
	hack/dev-cluster.sh up $(ARGS)

.PHONY: dev-cluster-down
dev-cluster-down: ## Stop the background cluster (and everything it started)
	hack/dev-cluster.sh down

.PHONY: resolve
resolve: ## Render the example with ko-built images: ko resolve -f out/
	$(GO) run ./cmd/mlpipe generate -f examples/churn/mlpipe.yaml -o out
	ko resolve -f out/ > out/release.yaml

.PHONY: apply
apply: ## Install the controller with ko (needs a cluster and KO_DOCKER_REPO)
	ko apply -R -f config

.PHONY: clean
clean: ## Remove build outputs (keeps the tool cache)
	rm -rf $(BIN) out .mlpipe
