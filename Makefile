# provider-alibabacloud-ecs
#
# The two commands a newcomer needs: `make dev` runs the provider locally and
# `make test` runs every test. `make reviewable` is what a change must pass.

GO            ?= go
OUTPUT_DIR    ?= _output
SIM_LISTEN    ?= 127.0.0.1:8080
SIM_STATE     ?=
GO_TEST_FLAGS ?= -race -count=1

.DEFAULT_GOAL := build
.PHONY: build test generate lint reviewable simulator run dev help

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## Build every binary into _output/bin.
	$(GO) build -o $(OUTPUT_DIR)/bin/ ./cmd/...

test: ## Run every test (with the race detector).
	$(GO) test $(GO_TEST_FLAGS) ./...

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

dev: simulator ## Run locally. Until the local control plane lands this serves the ECS simulator alone.
