# virtportal — `make help` lists the targets. On a fresh machine, `make run`
# and `make test` are each one command: they install what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED := 1

VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
GO_LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         := bin/virtportal
HELPER      := bin/virtportal-helper
# The Debian package: 0.0.<commits>+g<commit>[+dirty], as dpkg orders them.
DEB_VERSION := $(shell echo "0.0.$$(git rev-list --count HEAD 2>/dev/null || echo 0)+g$$(git rev-parse --short HEAD 2>/dev/null || echo none)$$(git diff --quiet HEAD 2>/dev/null || echo +dirty)")
DEB         := dist/virtportal_$(DEB_VERSION)_$(shell dpkg --print-architecture).deb
# Suites use the binaries built here instead of building their own.
TEST_ENV    := VIRTPORTAL_BIN=$(CURDIR)/$(BIN) VIRTPORTAL_HELPER_BIN=$(CURDIR)/$(HELPER) VIRTPORTAL_DEB=$(CURDIR)/$(DEB)
DEMO_DIR    := .run/demo
LISTEN      ?= 127.0.0.1:8080
ROOT_FLAG   := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help deps build web run test test-unit e2e bench lint clean deb

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## install missing Debian and npm packages (idempotent, quick when present)
	@scripts/deps.sh build libvirt browser ldap
	@$(MAKE) --no-print-directory node_modules/.stamp

node_modules/.stamp: package.json package-lock.json
	@scripts/deps.sh build
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web: node_modules/.stamp ## bundle the browser app into static/dist
	@npm run --silent build

build: web ## build bin/virtportal (the browser app embedded) and bin/virtportal-helper
	@scripts/deps.sh build
	go build -ldflags '$(GO_LDFLAGS)' -o $(BIN) ./cmd/virtportal
	go build -ldflags '$(GO_LDFLAGS)' -o $(HELPER) ./cmd/virtportal-helper

deb: build ## the Debian package (server, helper, units, PAM service, config) in dist/
	@scripts/mkdeb.sh $(DEB_VERSION) $(DEB)

run: build ## start the portal in demo mode (test driver, sample guests, printed admin password)
	@mkdir -p $(DEMO_DIR)
	$(BIN) serve --demo --data-dir $(DEMO_DIR) --listen $(LISTEN) $(ROOT_FLAG)

test: lint test-unit e2e ## every suite: lint, unit and integration, end to end on KVM, browser

test-unit: build ## Go unit and integration tests (libvirt test driver, real slapd, real PAM), JS unit tests
	@scripts/deps.sh ldap
	$(TEST_ENV) go test -race -count=1 ./...
	# the Go benchmarks once each, so `make bench` cannot rot unnoticed
	$(TEST_ENV) go test -count=1 -run '^$$' -bench . -benchtime 1x ./handlers/ ./virt/
	# Short fuzz runs, counted in executions: a -fuzztime in seconds races
	# Go 1.26's fuzz coordinator on a loaded machine and fails with a bare
	# "context deadline exceeded" (go.dev/issue/75804, fixed in Go 1.27).
	# The parser of untrusted volume contents,
	go test -run '^$$' -fuzz '^FuzzPVD$$' -fuzztime 100000x ./virt/iso9660/
	# and of the tus upload's creation headers (Upload-Length, Upload-Metadata)
	go test -run '^$$' -fuzz '^FuzzUploadMetadata$$' -fuzztime 20000x ./services/uploads/
	# and of the disk image header reader (qcow2, QED, VMDK references)
	go test -run '^$$' -fuzz '^FuzzInspect$$' -fuzztime 100000x ./virt/diskimage/
	# templates (issue 10): the strict decoder and the validator
	go test -run '^$$' -fuzz '^FuzzTemplate$$' -fuzztime 20000x ./services/templates/
	# the cloud-init user-data builder (issue 10)
	go test -run '^$$' -fuzz '^FuzzUserData$$' -fuzztime 50000x ./virt/cidata/
	# the host path checker of disk attach (issue 11): roots, .., links, odd Unicode
	go test -run '^$$' -fuzz '^FuzzHostPath$$' -fuzztime 50000x ./services/vmdisks/
	# the host's /proc parsers (issue 12)
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 50000x ./internal/procstat/
	npm run --silent test:unit

e2e: deb ## end to end: KVM on qemu:///system, PAM with the server unprivileged, then the browser suite (starts and stops libvirtd)
	@scripts/deps.sh libvirt browser
	if scripts/libvirtd.sh status; then echo "using the libvirtd that is running"; own=0; \
	else scripts/libvirtd.sh start; own=1; fi; \
	trap '[ $$own = 0 ] || scripts/libvirtd.sh stop' EXIT; \
	export VIRTPORTAL_E2E_URI=qemu:///system $(TEST_ENV); \
	go test -tags e2e -count=1 -v ./e2e/ && npm run --silent test:browser
	@# The browser suite runs two files at a time: each starts its own server
	@# and Chromium, and much of a file's time is waiting (5.7 min against 7.5).

bench: build ## benchmarks, each against a baseline measured in the same run (starts libvirtd as e2e does)
	@scripts/deps.sh ldap websockify libvirt
	@# Every section runs; a missed budget fails the target at the end. The
	@# upload and volume clone sections need qemu:///system: libvirtd is started as for e2e.
	if scripts/libvirtd.sh status; then echo "using the libvirtd that is running"; own=0; \
	else scripts/libvirtd.sh start; own=1; fi; \
	trap '[ $$own = 0 ] || scripts/libvirtd.sh stop' EXIT; \
	status=0; \
	VIRTPORTAL_E2E_URI=qemu:///system $(TEST_ENV) go run ./e2e/bench -bin $(CURDIR)/$(BIN) -kvm-uri qemu:///system || status=1; \
	go test -run '^$$' -bench 'GuestAuthorization' -benchtime 25x ./handlers/ || status=1; \
	go test -run '^$$' -bench 'AllowedOnAtSize' -benchtime 200000x -benchmem ./handlers/ || status=1; \
	exit $$status

lint: web ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./... && go vet -tags e2e ./e2e/...
	go run $(STATICCHECK) ./... && go run $(STATICCHECK) -tags e2e ./e2e/...

clean: ## remove builds, demo data and test artifacts
	rm -rf bin dist .run static/dist e2e/artifacts
