# capi-planner: every setup step lives here. The README's two commands are
# `make demo` and `make test`.

GO      ?= go
BIN     := bin/capi-planner
PKG     := github.com/capi-planner/capi-planner
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X $(PKG)/internal/cmd.Version=$(VERSION)

.PHONY: all build demo test lint bench envtest managers sandbox sandbox-down fuzz catalog supportmatrix crdschemas fixtures golden release clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/capi-planner

## demo: plan the bundled example (a three-minor chained upgrade), no cluster needed.
demo: build
	./$(BIN) plan -f fixtures/topology-versions --to v1.36.3 \
	  --assume-extension-covers=kubeadmConfig.spec.clusterConfiguration.etcd.local.imageTag,kubeadmConfig.spec.files

## test: lint, then every test: unit, golden, differential, CLI on the built binary,
## the integration tier against a real kube-apiserver + etcd (envtest), and the
## real-controller tier (test/e2e/realcapi: the CAPI v1.14.2 managers, built once).
test: lint
	@hack/capi-managers.sh >/dev/null
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" $(GO) test -count=1 -timeout 45m ./...
	$(MAKE) fuzz

## fuzz: run each fuzz target for FUZZTIME inputs; a failing input lands in testdata/fuzz.
## Budgets are counts, not durations: Go 1.26's fuzz coordinator can fail a target with a bare
## "context deadline exceeded" when a -fuzztime duration ends while a worker is busy, for example
## minimizing a new input (go.dev/issue/75804, fixed in Go 1.27). A count has no deadline to race.
## Minimizing a new (not failing) input is capped the same way, so the run stays a few seconds.
FUZZTIME ?= 3000x
FUZZ = $(GO) test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x
fuzz:
	$(FUZZ) -fuzz '^FuzzRead$$' ./state/snapshot
	$(FUZZ) -fuzz '^FuzzListItems$$' ./state/snapshot
	$(FUZZ) -fuzz '^FuzzPlanFlags$$' ./internal/cmd

## envtest: build kube-apiserver and etcd from hack/tools/ once, into a cache outside the checkout.
envtest:
	@hack/envtest.sh

## managers: build the CAPI v1.14.2 managers from hack/tools/capi once, into a cache outside the checkout.
managers:
	@hack/capi-managers.sh

## sandbox: a CAPI management cluster in a box (envtest + the real CAPI managers, in-memory
## backend: no Docker) with a demo Cluster, left running in the background; see docs/sandbox.md.
sandbox: build
	@managers="$$(hack/capi-managers.sh)" && assets="$$(hack/envtest.sh)" && \
	$(GO) build -o bin/sandbox ./hack/sandbox && \
	bin/sandbox up --dir .sandbox --managers "$$managers" --assets "$$assets" --tools-module hack/tools/capi

## sandbox-down: stop the sandbox.
sandbox-down:
	@$(GO) build -o bin/sandbox ./hack/sandbox && bin/sandbox down --dir .sandbox

## lint: formatting, go vet and staticcheck (built once from hack/tools/staticcheck).
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	"$$(hack/staticcheck.sh)" ./...

## bench: the scale benchmarks (500 Clusters, 25,000 Machines), each reported as a
## ratio to a floor measured in the same run, then apply following an upgrade on the
## real controllers, and the duration estimates against them; see docs/performance.md.
## Every benchmark runs even when an earlier one misses its target; the target fails
## at the end if any missed.
bench:
	@missed=0; \
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" $(GO) test -run '^$$' -bench . -benchtime 4x ./test/bench ./test/integration || missed=1; \
	hack/capi-managers.sh >/dev/null && \
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh)" $(GO) test -run '^$$' -bench 'ApplyFollow|Estimates' -benchtime 1x -timeout 60m ./test/e2e/realcapi || missed=1; \
	if [ $$missed -ne 0 ]; then echo "make bench: a benchmark missed its target or failed (see above)"; exit 1; fi

## catalog: regenerate the embedded Kubernetes release catalog from the Go module proxy.
catalog:
	$(GO) generate ./catalog

## supportmatrix: regenerate CAPI's support matrix from docs/book/src/reference/versions.md of the CAPI module.
supportmatrix:
	$(GO) generate ./internal/supportmatrix

## crdschemas: regenerate the CRD schemas snapshots are validated against, from the CRDs of the CAPI module.
crdschemas:
	$(GO) generate ./state/snapshot/crdschema

## fixtures: regenerate fixtures/ from the CAPI API types.
fixtures:
	$(GO) run ./hack/gen-fixtures

## golden: rewrite the renderers' golden files and docs/findings.md after an intended output change.
golden:
	$(GO) test ./internal/render -update

## release: reproducible archives for linux, darwin and windows on amd64 and arm64, with
## checksums, into dist/ (PLATFORMS="linux/amd64 ..." builds fewer).
release:
	hack/release.sh $(VERSION) $(PLATFORMS)

clean:
	rm -rf bin dist
