# provider-alibabacloud-ecs
#
# The two commands a newcomer needs: `make dev` runs the provider locally and
# `make test` runs every test. `make reviewable` is what a change must pass.

##> SIM_LISTEN     where make dev and make simulator serve the ECS simulator (127.0.0.1:8080).
##> SIM_STATE      a state file to seed make simulator with (cmd/ecs-simulator/README.md).
##> GO_TEST_FLAGS  go test's flags in make test (-race -count=1).
GO            ?= go
OUTPUT_DIR    ?= _output

# go.mod names the oldest Go that builds the provider. Say so plainly, rather
# than let go try to download a newer toolchain, which fails offline.
GO_MIN  := $(shell sed -n 's/^go //p' go.mod)
GO_HAVE := $(patsubst go%,%,$(shell GOTOOLCHAIN=local $(GO) env GOVERSION 2>/dev/null))
ifneq ($(firstword $(shell printf '%s\n' '$(GO_MIN)' '$(GO_HAVE)' | sort -V)),$(GO_MIN))
$(error Go $(GO_MIN) or later is needed (go.mod), but $(GO) is $(or $(GO_HAVE),missing): install a newer Go, or set GO=/path/to/go)
endif
SIM_LISTEN    ?= 127.0.0.1:8080
SIM_STATE     ?=
GO_TEST_FLAGS ?= -race -count=1

# VERSION stamps the binary, the image and the package: the nearest v* tag
# (with -dirty for local changes), else v0.0.0-<commit>. Override it to cut
# a release: make xpkg VERSION=v0.1.0.
##> VERSION        the version the binary, images and packages carry (the nearest v* tag, else v0.0.0-<commit>).
##> PLATFORMS      the platforms make build and make xpkg build for (linux/amd64 linux/arm64).
##> PLATFORM       the one platform make image builds for (this machine's).
VERSION   ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo v0.0.0-$$(git rev-parse --short HEAD 2>/dev/null || echo dev))
PLATFORMS ?= linux/amd64 linux/arm64
# PLATFORM is the one `make image` (and each round of `make xpkg`) builds the
# runtime image and the package for.
PLATFORM  ?= linux/$(shell $(GO) env GOARCH)
PLATFORM_DIR := $(subst /,_,$(PLATFORM))
# Every image and package file names its platform, so that nobody mistakes
# an arm64 package for an amd64 one: $(call xpkg_file,<name>,<os/arch>).
image_file = $(OUTPUT_DIR)/image/$(1)-$(VERSION)-$(subst /,_,$(2)).tar
xpkg_file  = $(OUTPUT_DIR)/xpkg/$(1)-$(VERSION)-$(subst /,_,$(2)).xpkg
IMAGE_TAR := $(call image_file,provider-alibabacloud-ecs,$(PLATFORM))
XPKG      := $(call xpkg_file,provider-alibabacloud-ecs,$(PLATFORM))
# The composition function of examples/composition is a package too, with its
# own runtime image built the same way.
FUNCTION_IMAGE_TAR := $(call image_file,function-imageshare,$(PLATFORM))
FUNCTION_XPKG      := $(call xpkg_file,function-imageshare,$(PLATFORM))
# The package files of every platform in PLATFORMS, comma-separated as
# `crossplane xpkg push -f` takes them: make publish pushes each list as one
# multi-arch package (an OCI image index), and the tests read them
# (XPKG_FILES and FUNCTION_XPKG_FILES in TEST_ENV).
comma := ,
empty :=
space := $(empty) $(empty)
XPKG_FILES          := $(subst $(space),$(comma),$(foreach p,$(PLATFORMS),$(abspath $(call xpkg_file,provider-alibabacloud-ecs,$(p)))))
FUNCTION_XPKG_FILES := $(subst $(space),$(comma),$(foreach p,$(PLATFORMS),$(abspath $(call xpkg_file,function-imageshare,$(p)))))
LDFLAGS   := -s -w -X github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/version.Version=$(VERSION)

# STATIC_ENV: the flags the shipped binaries are built with (build-platform
# and function-image; devenv.GoBuild sets the same for the tests' builds).
# generate's tools (go tool controller-gen, angryjet), golangci-lint and the
# tools of make tools compile with them too, so that the packages they
# compile (apimachinery, x/tools, the provider's whole dependency tree) are
# the ones the builds and tests reuse, not a second copy for other flags.
STATIC_ENV := CGO_ENABLED=0 GOFLAGS=-trimpath

# COMPILE_ENV: how the compiler and the linker run, not what they make
# (GOGC is not part of the build cache's keys). GOGC=400 lets a compile's
# heap grow to five times what is live before a collection, rather than
# twice: the crossplane CLI's build on an empty cache took 8% less CPU with
# it (706 and 714 CPU-seconds against 771 and 773, on this 2-core machine),
# and a new machine's CI is nearly all compiling (CONTRIBUTING.md, What CI
# costs). Every build takes it, the tools' included. golangci-lint does not:
# its heap is gigabytes, and with GOGC=400 it took no less CPU (113 and 139
# CPU-seconds against 105 and 135) and twice the memory (6 GiB). Nor do the
# processes the tests start (the provider, the control plane, the test
# binaries): they run with Go's default, as in a cluster.
COMPILE_ENV := GOGC=400

# The tools the tests and lint need are built from the Go module proxy, once
# per machine, outside the checkout, each in a folder keyed by its version:
# every clone on the machine (CI's clean clones included) finds them there,
# and a version bump builds beside the old one. TOOLS_CACHE moves them.
##> TOOLS_CACHE    where the tools are built, once per machine (~/.cache/provider-alibabacloud-ecs).
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/provider-alibabacloud-ecs

# The control plane (kube-apiserver, kube-controller-manager, kubectl, etcd),
# pinned by the modules in hack/controlplane. The first build takes about 15
# minutes on 2 cores (kube-apiserver is most of it); later calls find the
# binaries and do nothing.
KUBE_VERSION     := $(shell cd hack/controlplane/kubernetes && $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)
ETCD_VERSION     := $(shell cd hack/controlplane/etcd && $(GO) list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
KUBE_MINOR       := $(word 2,$(subst ., ,$(KUBE_VERSION)))
CONTROLPLANE_DIR ?= $(TOOLS_CACHE)/controlplane/kubernetes-$(KUBE_VERSION)-etcd-$(ETCD_VERSION)
KUBE_COMMANDS    := kube-apiserver kube-controller-manager kubectl
KUBE_LDFLAGS     := -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
                    -X k8s.io/component-base/version.gitMajor=1 \
                    -X k8s.io/component-base/version.gitMinor=$(KUBE_MINOR) \
                    -X k8s.io/client-go/pkg/version.gitVersion=$(KUBE_VERSION) \
                    -X k8s.io/client-go/pkg/version.gitMajor=1 \
                    -X k8s.io/client-go/pkg/version.gitMinor=$(KUBE_MINOR)
ETCD_LDFLAGS     := -X go.etcd.io/etcd/api/v3/version.GitSHA=$(ETCD_VERSION)

# The crossplane CLI builds the package and renders and validates
# compositions. crossplane render runs a composition through Crossplane's own
# reconciler, `crossplane internal render` of the core binary, which the CLI
# would otherwise run in Docker; the same core binary runs as Crossplane
# itself (`crossplane core start`). One module, hack/tools/crossplane, pins
# both, so that they build against one set of dependencies and the second
# build reuses most of what the first compiled.
CROSSPLANE_VERSION      := $(shell cd hack/tools/crossplane && $(GO) list -m -f '{{.Version}}' github.com/crossplane/cli/v2)
CROSSPLANE              ?= $(TOOLS_CACHE)/crossplane-$(CROSSPLANE_VERSION)/crossplane
CROSSPLANE_CORE_VERSION := $(shell cd hack/tools/crossplane && $(GO) list -m -f '{{.Version}}' github.com/crossplane/crossplane/v2)
CROSSPLANE_CORE         ?= $(TOOLS_CACHE)/crossplane-core-$(CROSSPLANE_CORE_VERSION)/crossplane
# Core's version, set as Crossplane's own build sets it (nix/build.nix): its
# package manager checks packages' spec.crossplane.version against it, and
# `crossplane --version` prints it. The binary depends on a stamp holding
# these flags, rewritten only when they change, so a binary built with other
# flags (such as one from before the version was set) is built again.
CROSSPLANE_CORE_LDFLAGS := -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$(CROSSPLANE_CORE_VERSION)
CROSSPLANE_CORE_STAMP   := $(CROSSPLANE_CORE).ldflags

# golangci-lint (pinned by hack/tools/golangci-lint/go.mod, configured by
# .golangci.yml) is built the same way. Its own module keeps its many
# dependencies from moving the versions the other tools build with.
GOLANGCI_LINT_VERSION := $(shell cd hack/tools/golangci-lint && $(GO) list -m -f '{{.Version}}' github.com/golangci/golangci-lint/v2)
GOLANGCI_LINT         ?= $(TOOLS_CACHE)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

.DEFAULT_GOAL := build
.PHONY: build build-platform build-cli-platform image function-image xpkg test controlplane generate lint reviewable simulator dev help

# make help prints the targets by group, the two commands first, then the
# variables people set (dev first). A target's help is `## [Group] text` after its
# prerequisites; a variable's is a `##> NAME text` line beside it. Groups
# print in the order of HELP_GROUPS, whatever the order in this file.
HELP_GROUPS := Start|Build and ship|Check|Measure and explore|Tools
help: ## [Tools] List the targets and the variables people set.
	@echo "provider-alibabacloud-ecs: needs Go $(GO_MIN) or later (go.mod) and the Go module proxy; no Docker."
	@echo
	@awk -v groups='$(HELP_GROUPS)' ' \
		BEGIN { n = split(groups, order, "|") } \
		/^[a-z-]+:.*## \[/ { t = $$0; sub(/:.*/, "", t); g = $$0; sub(/.*## \[/, "", g); d = g; sub(/\].*/, "", g); sub(/^[^]]*\] /, "", d); \
			l = sprintf("  %-15s %s\n", t, d); if (t == "dev") lines[g] = l lines[g]; else lines[g] = lines[g] l } \
		/^##> / { v = $$0; sub(/^##> /, "", v); name = v; sub(/ .*/, "", name); sub(/^[^ ]* +/, "", v); vars = vars sprintf("  %-15s %s\n", name, v) } \
		END { for (i = 1; i <= n; i++) if (lines[order[i]] != "") printf "%s:\n%s\n", order[i], lines[order[i]]; printf "Variables (make <target> NAME=value):\n%s", vars }' $(MAKEFILE_LIST)

build: ## [Build and ship] Build the static provider binary and the import command (ecs-shares) for each of PLATFORMS into _output/bin/<os>_<arch>/.
	@for p in $(PLATFORMS); do $(MAKE) --no-print-directory build-platform build-cli-platform PLATFORM=$$p || exit 1; done

build-platform:
	$(STATIC_ENV) $(COMPILE_ENV) GOOS=$(word 1,$(subst /, ,$(PLATFORM))) GOARCH=$(word 2,$(subst /, ,$(PLATFORM))) \
		$(GO) build -ldflags "$(LDFLAGS)" -o $(OUTPUT_DIR)/bin/$(PLATFORM_DIR)/provider ./cmd/provider

# The import command runs on a workstation, not in the package's image.
build-cli-platform:
	$(STATIC_ENV) $(COMPILE_ENV) GOOS=$(word 1,$(subst /, ,$(PLATFORM))) GOARCH=$(word 2,$(subst /, ,$(PLATFORM))) \
		$(GO) build -ldflags "$(LDFLAGS)" -o $(OUTPUT_DIR)/bin/$(PLATFORM_DIR)/ecs-shares ./cmd/ecs-shares

image: build-platform ## [Build and ship] Assemble the runtime image for PLATFORM as a tarball, without Docker.
	@mkdir -p $(dir $(IMAGE_TAR))
	$(GO) run ./hack/image --dockerfile cluster/images/provider-alibabacloud-ecs/Dockerfile \
		--binary $(OUTPUT_DIR)/bin/$(PLATFORM_DIR)/provider --platform $(PLATFORM) --version $(VERSION) --out $(IMAGE_TAR)

# The function is its own Go module (examples/composition/function), so it is
# built from there.
function-image:
	cd examples/composition/function && $(STATIC_ENV) $(COMPILE_ENV) GOOS=$(word 1,$(subst /, ,$(PLATFORM))) GOARCH=$(word 2,$(subst /, ,$(PLATFORM))) \
		$(GO) build -ldflags "-s -w" -o $(abspath $(OUTPUT_DIR))/bin/$(PLATFORM_DIR)/function-imageshare .
	@mkdir -p $(dir $(FUNCTION_IMAGE_TAR))
	$(GO) run ./hack/image --dockerfile cluster/images/function-imageshare/Dockerfile --repository function-imageshare \
		--binary $(OUTPUT_DIR)/bin/$(PLATFORM_DIR)/function-imageshare --platform $(PLATFORM) --version $(VERSION) --out $(FUNCTION_IMAGE_TAR)

# make xpkg builds the packages of each platform in PLATFORMS, one round
# (xpkg-platform) per platform, as `make build` does the binaries.
xpkg: $(CROSSPLANE) ## [Build and ship] Build the provider's and the function's packages, one file per platform of PLATFORMS, into _output/xpkg/.
	@for p in $(PLATFORMS); do $(MAKE) --no-print-directory xpkg-platform PLATFORM=$$p VERSION=$(VERSION) || exit 1; done

# The provider's examples are all of examples/ but the function's package
# metadata, which lives beside the function. The function's package has no
# examples: its examples are the composition's in examples/composition, which
# cannot be the examples root because the CLI drops every package file whose
# path contains that root. So its examples root is a folder that does not
# exist (left unset it would be ./examples, the provider's). The package
# takes its platform from the runtime image it embeds.
.PHONY: xpkg-platform
xpkg-platform: image function-image $(CROSSPLANE)
	@mkdir -p $(dir $(XPKG))
	$(CROSSPLANE) xpkg build --package-root=package --examples-root=examples \
		--ignore=composition/function/package/crossplane.yaml \
		--embed-runtime-image-tarball=$(IMAGE_TAR) --package-file=$(XPKG)
	@echo "built $(XPKG)"
	$(CROSSPLANE) xpkg build --package-root=examples/composition/function/package \
		--examples-root=examples/composition/function/package/no-examples \
		--embed-runtime-image-tarball=$(FUNCTION_IMAGE_TAR) --package-file=$(FUNCTION_XPKG)
	@echo "built $(FUNCTION_XPKG)"

# make publish pushes the files of every platform as ONE package, an OCI
# image index that the nodes of each architecture pull their own image
# from, with the pinned CLI: REGISTRY/provider-alibabacloud-ecs:VERSION and
# REGISTRY/function-imageshare:VERSION. It uses the credentials of your
# docker configuration (docker login, or `crossplane xpkg login`).
##> REGISTRY       where make publish pushes the packages, e.g. registry.example.org/platform.
ifneq ($(filter publish,$(MAKECMDGOALS)),)
ifeq ($(REGISTRY),)
$(error REGISTRY is not set: make publish REGISTRY=<registry>/<org>, such as REGISTRY=registry.example.org/platform)
endif
endif
.PHONY: publish
publish: xpkg ## [Build and ship] Push both packages, each as one multi-arch package, to REGISTRY (make publish REGISTRY=registry.example.org/platform).
	$(CROSSPLANE) xpkg push -f $(XPKG_FILES) $(REGISTRY)/provider-alibabacloud-ecs:$(VERSION)
	$(CROSSPLANE) xpkg push -f $(FUNCTION_XPKG_FILES) $(REGISTRY)/function-imageshare:$(VERSION)
	@echo "published $(REGISTRY)/provider-alibabacloud-ecs:$(VERSION) and $(REGISTRY)/function-imageshare:$(VERSION) for $(PLATFORMS)"

# Everything the tests run is built first: the control plane, the packages
# (whose test opens them), and the crossplane CLI and core. Then every test
# binary, the function's too, is compiled by a go test that runs none of
# them (-exec true, with COMPILE_ENV), so that the runs after it find them
# built rather than compiling the same packages side by side. The unit tests, the function's tests and the
# crossplane and chaos suites then run at once, with BESIDE_TESTS (make
# targets; make reviewable puts lint there): the suites mostly wait on the
# processes they start. test/e2e runs last, alone: its TestScale counts how
# many batched calls the provider makes, and on a loaded machine shares reach
# the provider more slowly than its batch window, so it makes more (issue
# 18's batching is to end that). The suites run verbosely, so that each
# prints how long its scenarios took.
TEST_ENV := KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) CROSSPLANE=$(CROSSPLANE) CROSSPLANE_CORE=$(CROSSPLANE_CORE) \
            XPKG_FILES=$(XPKG_FILES) FUNCTION_XPKG_FILES=$(FUNCTION_XPKG_FILES)
SUITES_BESIDE := ./test/crossplane ./test/chaos
SUITE_ALONE   := ./test/e2e
BESIDE_TESTS  ?=
test: controlplane xpkg $(CROSSPLANE_CORE) ## [Start] Run every test (with the race detector), the e2e and a short chaos run included.
	@echo "make test: compiling every test binary"; \
	out=$$($(COMPILE_ENV) $(GO) test $(GO_TEST_FLAGS) -exec true ./... 2>&1 && \
		cd examples/composition/function && $(COMPILE_ENV) $(GO) test $(GO_TEST_FLAGS) -exec true ./... 2>&1) || { echo "$$out"; exit 1; }
	@pids=; failed=; \
	for target in $(BESIDE_TESTS); do $(MAKE) --no-print-directory $$target & pids="$$pids $$!:$$target"; done; \
	$(TEST_ENV) $(GO) test $(GO_TEST_FLAGS) -v -timeout 30m $(SUITES_BESIDE) & pids="$$pids $$!:suites"; \
	(cd examples/composition/function && $(GO) test $(GO_TEST_FLAGS) ./...) & pids="$$pids $$!:function-tests"; \
	$(TEST_ENV) $(GO) test $(GO_TEST_FLAGS) $$($(GO) list ./... | grep -v $(addprefix -e ,$(patsubst ./%,/%,$(SUITES_BESIDE) $(SUITE_ALONE)))) || failed=" unit-tests"; \
	for p in $$pids; do wait $${p%%:*} || failed="$$failed $${p#*:}"; done; \
	if [ -n "$$failed" ]; then echo "make test: failed:$$failed"; exit 1; fi
	$(TEST_ENV) $(GO) test $(GO_TEST_FLAGS) -v $(SUITE_ALONE)

# make chaos is test/chaos at a bigger size than make test's short run:
# more resources, longer chaos, more provider kills, the provider's default
# poll. It prints its seed; CHAOS_SEED=<seed> repeats its plan and faults.
##> CHAOS_SEED     repeat a make chaos run's plan and faults (also CHAOS_RESOURCES, CHAOS_DURATION, CHAOS_KILLS, CHAOS_POLL).
CHAOS_RESOURCES ?= 500
CHAOS_DURATION  ?= 4m
CHAOS_KILLS     ?= 5
CHAOS_POLL      ?= 60s
.PHONY: chaos
chaos: controlplane ## [Measure and explore] A bigger chaos run (CHAOS_RESOURCES=500, CHAOS_DURATION=4m, CHAOS_KILLS=5; CHAOS_SEED to repeat one).
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) CHAOS_RESOURCES=$(CHAOS_RESOURCES) CHAOS_DURATION=$(CHAOS_DURATION) \
		CHAOS_KILLS=$(CHAOS_KILLS) CHAOS_POLL=$(CHAOS_POLL) $(GO) test -count=1 -v -timeout 90m ./test/chaos

# make bench measures the provider at scale: images × accounts namespaced
# ImageSharePermissions created at once against the ECS simulator with
# ECS-like rate limits, with the provider's defaults, with the objects all
# there before the provider starts (backlog), with sharing and batching off,
# and with the limits lifted; it prints figures beside the
# issue's targets and writes them to _output/bench/. The quick run:
# make bench BENCH_FLAGS="-images 2 -accounts 50 -poll 10s".
##> BENCH_FLAGS    make bench's flags, e.g. "-images 2 -accounts 50 -poll 10s" for a quick run.
BENCH_FLAGS ?=
.PHONY: bench
bench: controlplane ## [Measure and explore] Measure the provider at scale (BENCH_FLAGS="-images 2 -accounts 50 -poll 10s" for a quick run).
	$(GO) build -o $(OUTPUT_DIR)/bin/bench ./hack/bench
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) $(OUTPUT_DIR)/bin/bench -out $(OUTPUT_DIR)/bench $(BENCH_FLAGS)

# go test runs every fuzz target's seed corpus (f.Add and testdata/fuzz/),
# so make test covers the seeds; make fuzz also searches for new inputs. A
# failing input is written to testdata/fuzz/<Target>/ beside the target:
# commit it as a regression seed with the fix. go test -fuzz takes one
# target in one package per run, so each target gets its own run. Every new
# input that adds coverage is minimized first, by default for up to a
# minute; the simulator's inputs are whole HTTP requests, so that alone
# would use up a short run: FUZZMINIMIZETIME bounds it.
##> FUZZTIME       how long make fuzz searches each target (30s).
FUZZTIME         ?= 30s
FUZZMINIMIZETIME ?= 2s
FUZZ_FLAGS       ?=
.PHONY: fuzz
fuzz: ## [Measure and explore] Search each fuzz target for FUZZTIME (30s) for failing inputs; FUZZ_FLAGS=-parallel=1 on a busy machine.
	@for dir in $$($(GO) list -f '{{.Dir}}' ./...); do \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go 2>/dev/null); do \
			echo "fuzz: $$name in ./$${dir#$(CURDIR)/} for $(FUZZTIME)"; \
			$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) $(FUZZ_FLAGS) $$dir || exit 1; \
		done; \
	done

controlplane: $(addprefix $(CONTROLPLANE_DIR)/,$(KUBE_COMMANDS)) $(CONTROLPLANE_DIR)/etcd ## [Tools] Build kube-apiserver, kube-controller-manager, kubectl and etcd (once per machine, into TOOLS_CACHE).

# make tools builds every tool the tests and lint need, two builds at a time:
# each go build leaves a core idle while it loads packages and links, which
# the other fills. make reviewable runs it first, so that its time shows apart
# from lint's and the tests'.
.PHONY: tools
tools: ## [Tools] Build every tool make test and make lint need (the control plane, the crossplane CLI and core, golangci-lint), once per machine.
	@$(MAKE) --no-print-directory -j2 controlplane $(CROSSPLANE) $(CROSSPLANE_CORE) $(GOLANGCI_LINT)

# Tools are linked without symbol table or DWARF (-s -w): nobody debugs them,
# and the binaries are a third smaller (etcd: 39 MB, 27 MB).
#
# Every binary is built into a folder of its own (named for the process,
# so that two clones building at once never share one) and then renamed into
# place, so that an interrupted build never leaves a broken binary that looks
# finished.
$(CROSSPLANE):
	@mkdir -p $(@D)
	@echo "building the crossplane CLI $(CROSSPLANE_VERSION)"
	cd hack/tools/crossplane && $(STATIC_ENV) $(COMPILE_ENV) $(GO) build -ldflags "-s -w" -o $@.partial.$$$$ github.com/crossplane/cli/v2/cmd/crossplane && mv $@.partial.$$$$ $@

# After the CLI, never beside it: two go builds at once would each compile
# the packages the two share.
$(CROSSPLANE_CORE): $(CROSSPLANE_CORE_STAMP) | $(CROSSPLANE)
	@mkdir -p $(@D)
	@echo "building crossplane core $(CROSSPLANE_CORE_VERSION)"
	cd hack/tools/crossplane && $(STATIC_ENV) $(COMPILE_ENV) $(GO) build -ldflags "-s -w $(CROSSPLANE_CORE_LDFLAGS)" -o $@.partial.$$$$ github.com/crossplane/crossplane/v2/cmd/crossplane && mv $@.partial.$$$$ $@

# Always considered, but touched only when the flags differ, so that an
# unchanged stamp stays older than the binary.
$(CROSSPLANE_CORE_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CROSSPLANE_CORE_LDFLAGS)' | cmp -s - $@ || echo '$(CROSSPLANE_CORE_LDFLAGS)' > $@

.PHONY: FORCE
FORCE:

$(GOLANGCI_LINT):
	@mkdir -p $(@D)
	@echo "building golangci-lint $(GOLANGCI_LINT_VERSION)"
	cd hack/tools/golangci-lint && $(STATIC_ENV) $(COMPILE_ENV) $(GO) build -ldflags "-s -w" -o $@.partial.$$$$ github.com/golangci/golangci-lint/v2/cmd/golangci-lint && mv $@.partial.$$$$ $@

# The three Kubernetes commands come from one module and share most of their
# packages: one go build compiles those once and links the three at once.
$(addprefix $(CONTROLPLANE_DIR)/,$(KUBE_COMMANDS)) &:
	@mkdir -p $(CONTROLPLANE_DIR)
	@echo "building $(KUBE_COMMANDS) $(KUBE_VERSION) (the first build takes about 15 minutes)"
	@rm -rf $(CONTROLPLANE_DIR)/.partial.$$$$ && mkdir $(CONTROLPLANE_DIR)/.partial.$$$$ && \
	cd hack/controlplane/kubernetes && $(STATIC_ENV) $(COMPILE_ENV) $(GO) build -ldflags "-s -w $(KUBE_LDFLAGS)" -o $(CONTROLPLANE_DIR)/.partial.$$$$/ \
		$(addprefix k8s.io/kubernetes/cmd/,$(KUBE_COMMANDS)) && \
	for c in $(KUBE_COMMANDS); do mv $(CONTROLPLANE_DIR)/.partial.$$$$/$$c $(CONTROLPLANE_DIR)/$$c || exit 1; done && rmdir $(CONTROLPLANE_DIR)/.partial.$$$$

$(CONTROLPLANE_DIR)/etcd:
	@mkdir -p $(@D)
	@echo "building etcd $(ETCD_VERSION)"
	cd hack/controlplane/etcd && $(STATIC_ENV) $(COMPILE_ENV) $(GO) build -ldflags "-s -w $(ETCD_LDFLAGS)" -o $@.partial.$$$$ go.etcd.io/etcd/server/v3 && mv $@.partial.$$$$ $@

generate: ## [Check] Regenerate generated code; must leave a clean tree.
	$(STATIC_ENV) $(COMPILE_ENV) $(GO) generate ./...
	$(GO) mod tidy

# lint checks both Go modules that ship or are tested: the provider and the
# composition function. `go mod tidy -diff` fails on an untidy go.mod or
# go.sum and prints the change (`go mod verify` only checks the module cache).
# go vet runs inside golangci-lint (its govet linter runs the analyzers of
# this Go's go vet), not beside it: a separate go vet took 264 CPU-seconds
# of a new machine's CI after the builds (CONTRIBUTING.md, What CI costs).
# golangci-lint compiles the dependencies it type-checks with STATIC_ENV.
lint: $(GOLANGCI_LINT) ## [Check] gofmt, golangci-lint (go vet's analyzers among its linters) and tidy go.mod files.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(STATIC_ENV) $(GOLANGCI_LINT) run ./...
	$(GO) mod tidy -diff
	cd examples/composition/function && $(STATIC_ENV) $(GOLANGCI_LINT) run --config $(CURDIR)/.golangci.yml ./... && $(GO) mod tidy -diff

.PHONY: check-diff
check-diff: ## [Check] Fail if make generate changes any file (stale generated code, CRDs or go.mod).
	@MAKE="$(MAKE)" hack/check-diff.sh

# In order, even under make -j: lint and test must see what generate wrote.
# lint runs inside make test, beside the suites that mostly wait
# (BESIDE_TESTS), and after the packages are built, so that it finds the
# provider's dependencies compiled. Each phase prints how long it took, so
# that CI's log says where the time went (.ci/run stops a run that grows past
# its budget).
reviewable: ## [Check] What every change must pass: tools, generate (check-diff), lint, test. CI runs this.
	@for phase in tools check-diff lint+test; do \
		begin=$$(date +%s); \
		if [ $$phase = lint+test ]; then $(MAKE) --no-print-directory test BESIDE_TESTS=lint || exit 1; \
		else $(MAKE) --no-print-directory $$phase || exit 1; fi; \
		took=$$(( $$(date +%s) - begin )); printf 'reviewable: %-10s %dm%02ds\n' $$phase $$((took / 60)) $$((took % 60)); \
	done

simulator: ## [Measure and explore] Run the ECS simulator (SIM_LISTEN, SIM_STATE=file.yaml to seed it).
	$(GO) run ./cmd/ecs-simulator --listen $(SIM_LISTEN) $(if $(SIM_STATE),--state $(SIM_STATE))

# make dev: with no KUBECONFIG, a local control plane, the ECS simulator and
# the provider (hack/dev). With KUBECONFIG set, only the provider from
# source, against that cluster (hack/dev --cluster): it says what that
# means, refuses beside an installed or running copy of the provider unless
# DEV_FORCE=1, and runs with leader election. Ctrl-C stops everything it
# started.
##> DEV_FORCE      make dev against KUBECONFIG's cluster even beside an installed provider (it waits for the lease).
##> DEV_LEASE_NAMESPACE  the installed provider's namespace, where its leader election lease is (crossplane-system).
DEV_LEASE_NAMESPACE ?= crossplane-system
dev: ## [Start] Run the provider locally: control plane, ECS simulator, provider (KUBECONFIG set: the provider against that cluster). Ctrl-C stops all.
ifeq ($(KUBECONFIG),)
	@$(MAKE) --no-print-directory controlplane
	$(GO) build -o $(OUTPUT_DIR)/bin/dev ./hack/dev
	KUBEBUILDER_ASSETS=$(CONTROLPLANE_DIR) $(OUTPUT_DIR)/bin/dev --sim-listen $(SIM_LISTEN)
else
	$(GO) build -o $(OUTPUT_DIR)/bin/dev ./hack/dev
	$(OUTPUT_DIR)/bin/dev --cluster --lease-namespace $(DEV_LEASE_NAMESPACE) $(if $(DEV_FORCE),--force)
endif

# make dev-crossplane: the world test/crossplane proves, for a person (hack/dev
# --crossplane): the control plane with kube-controller-manager's garbage
# collector, Crossplane core, a loopback registry serving the packages make
# xpkg builds, the provider and the composition function installed from them
# as packages, and the ECS simulator. It prints how to apply the composition
# example. (Not `make dev CROSSPLANE=1`: CROSSPLANE names the CLI.)
.PHONY: dev-crossplane
dev-crossplane: controlplane xpkg $(CROSSPLANE_CORE) ## [Measure and explore] make dev with Crossplane core installing the provider and function packages. Ctrl-C stops all.
	$(GO) build -o $(OUTPUT_DIR)/bin/dev ./hack/dev
	$(TEST_ENV) $(OUTPUT_DIR)/bin/dev --crossplane --sim-listen $(SIM_LISTEN)
