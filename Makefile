# provider-alibabacloud-ecs
#
# The two commands a newcomer needs: `make dev` runs the provider locally and
# `make test` runs every test. `make reviewable` is what a change must pass.

GO            ?= go
OUTPUT_DIR    ?= _output
SIM_LISTEN    ?= 127.0.0.1:8080
SIM_STATE     ?=
GO_TEST_FLAGS ?= -race -count=1

# The control plane (kube-apiserver, etcd, kubectl) is built from the Go
# module proxy by the modules in hack/controlplane, whose go.mod pins the
# versions, into a git-ignored folder keyed by those versions. The first build
# takes about 15 minutes on 2 cores (kube-apiserver is most of it); later
# calls find the binaries and do nothing, and a fresh clone on a machine with
# a warm Go build cache only links them (about a minute).
KUBE_VERSION     := $(shell cd hack/controlplane/kubernetes && $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)
ETCD_VERSION     := $(shell cd hack/controlplane/etcd && $(GO) list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
KUBE_MINOR       := $(word 2,$(subst ., ,$(KUBE_VERSION)))
CONTROLPLANE_DIR ?= $(CURDIR)/.cache/controlplane/kubernetes-$(KUBE_VERSION)-etcd-$(ETCD_VERSION)
KUBE_LDFLAGS     := -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
                    -X k8s.io/component-base/version.gitMajor=1 \
                    -X k8s.io/component-base/version.gitMinor=$(KUBE_MINOR) \
                    -X k8s.io/client-go/pkg/version.gitVersion=$(KUBE_VERSION) \
                    -X k8s.io/client-go/pkg/version.gitMajor=1 \
                    -X k8s.io/client-go/pkg/version.gitMinor=$(KUBE_MINOR)
ETCD_LDFLAGS     := -X go.etcd.io/etcd/api/v3/version.GitSHA=$(ETCD_VERSION)

.DEFAULT_GOAL := build
.PHONY: build test controlplane generate lint reviewable simulator run dev help

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## Build every binary into _output/bin.
	$(GO) build -o $(OUTPUT_DIR)/bin/ ./cmd/...

# The e2e suite runs verbosely so that it prints how long each scenario took.
test: controlplane ## Run every test (with the race detector), the e2e suite included.
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) $(GO) test $(GO_TEST_FLAGS) $$($(GO) list ./... | grep -v /test/e2e)
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) $(GO) test $(GO_TEST_FLAGS) -v ./test/e2e

controlplane: $(CONTROLPLANE_DIR)/kube-apiserver $(CONTROLPLANE_DIR)/kubectl $(CONTROLPLANE_DIR)/etcd ## Build kube-apiserver, etcd and kubectl (once).

# Each binary is written beside its final name and renamed, so an
# interrupted build never leaves a broken binary that looks finished.
$(CONTROLPLANE_DIR)/kube-apiserver $(CONTROLPLANE_DIR)/kubectl:
	@mkdir -p $(@D)
	@echo "building $(@F) $(KUBE_VERSION) (the first build of kube-apiserver takes about 15 minutes)"
	cd hack/controlplane/kubernetes && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(KUBE_LDFLAGS)" -o $@.partial k8s.io/kubernetes/cmd/$(@F)
	@mv $@.partial $@

$(CONTROLPLANE_DIR)/etcd:
	@mkdir -p $(@D)
	@echo "building etcd $(ETCD_VERSION)"
	cd hack/controlplane/etcd && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(ETCD_LDFLAGS)" -o $@.partial go.etcd.io/etcd/server/v3
	@mv $@.partial $@

generate: ## Regenerate generated code; must leave a clean tree.
	$(GO) generate ./...
	$(GO) mod tidy

lint: ## gofmt, go vet and a tidy go.mod.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod verify

reviewable: generate lint test ## What every change must pass.

simulator: ## Run the ECS simulator (SIM_LISTEN, SIM_STATE=file.yaml to seed it).
	$(GO) run ./cmd/ecs-simulator --listen $(SIM_LISTEN) $(if $(SIM_STATE),--state $(SIM_STATE))

run: ## Run the provider from source against the cluster in KUBECONFIG (CRDs installed).
	$(GO) run ./cmd/provider --debug

# make dev: with no KUBECONFIG, a local control plane, the ECS simulator and
# the provider (hack/dev); with KUBECONFIG set, the provider against that
# cluster (make run). Ctrl-C stops everything it started.
dev: ## Run the provider locally: control plane, ECS simulator, provider. Ctrl-C stops all.
ifeq ($(KUBECONFIG),)
	@$(MAKE) --no-print-directory controlplane
	$(GO) build -o $(OUTPUT_DIR)/bin/dev ./hack/dev
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) $(OUTPUT_DIR)/bin/dev --sim-listen $(SIM_LISTEN)
else
	@echo "KUBECONFIG is set: running the provider against that cluster (make run)"
	@$(MAKE) --no-print-directory run
endif
