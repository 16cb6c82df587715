# flotilla: everyday targets. `make demo` and `make test` install what they need.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
LAB_STATE ?= $(CURDIR)/.lab/state.json
LAB_HOSTS ?= 3
FLOTILLA := $(CURDIR)/bin/flotilla
# Test packages share 2 cores with the lab's dockerd and sshd processes.
TEST_FLAGS ?= -count=1 -timeout 20m -p 2

.PHONY: all deps build test test-unit demo lab-up lab-down lab-status bench fuzz clean

all: build

deps:
	@./scripts/install-go.sh
	@./scripts/install-deps.sh
	@$(GO) mod download

build: deps
	@mkdir -p bin
	$(GO) build -o bin/flotilla ./cmd/flotilla
	$(GO) build -o bin/flotilla-lab ./cmd/flotilla-lab

# Every test, the lab-backed ones included (they need root: dockerd and sshd).
test: deps
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=10s

# Fuzz the inventory loader and the pattern parser; a crasher lands in
# hosts/testdata/fuzz and becomes a regression test of `go test`.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzSelect -fuzztime=$(FUZZTIME) ./hosts/
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) ./hosts/

# Pure-logic tests only: no lab.
test-unit: deps
	$(GO) test -count=1 -short ./...

demo: build
	@./scripts/demo.sh "$(LAB_STATE)" "$(LAB_HOSTS)"

lab-up: build
	@bin/flotilla-lab up --state "$(LAB_STATE)" --hosts $(LAB_HOSTS)

lab-down:
	@if [ -x bin/flotilla-lab ]; then bin/flotilla-lab down --state "$(LAB_STATE)"; \
	else $(GO) run ./cmd/flotilla-lab down --state "$(LAB_STATE)"; fi

lab-status: build
	@bin/flotilla-lab status --state "$(LAB_STATE)"

# Fleet-scale benchmarks against the docker CLI, ssh and a minimal x/crypto/ssh
# program on a 200-host lab (see README, Performance). Not part of make test.
# BENCH_FLAGS="-hosts 10,50 -runs 3 -cases check" narrows a run.
BENCH_FLAGS ?=
bench: build
	$(GO) build -o bin/bench-minimal ./bench/minimal
	$(GO) build -o bin/flotilla-bench ./bench/cmd/flotilla-bench
	$(GO) build -o bin/flotilla-profile ./bench/cmd/flotilla-profile
	bin/flotilla-bench -flotilla bin/flotilla -minimal bin/bench-minimal -out bench/results $(BENCH_FLAGS)

clean:
	rm -rf bin
