# tenure: one entry point for the demo, the tests and the benchmarks.
#
#   make demo                 the README demo on an embedded 3-node cluster
#   make test                 every test in every language (what CI runs)
#   make faults DURATION=1h   a long fault-injection soak with a report
#   make bench                the benchmarks against etcd (docs/benchmarks/)

CARGO ?= cargo
TENURE := target/debug/tenure
DURATION ?= 10m
SEED ?= 1

.PHONY: demo build lint deps test test-rust test-python test-node test-kotlin faults

demo:
	$(CARGO) build --bin tenure
	./$(TENURE) demo

build:
	$(CARGO) build --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

# Optional system packages: libfaketime lets the fault suite skew clocks.
deps:
	@command -v faketime >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && (apt-get install -y -q faketime >/dev/null 2>&1 || \
	    (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q faketime >/dev/null 2>&1)) ; } || \
	  echo "note: faketime not installed; the fault suite will skip clock drift"

test-rust: build deps
	$(CARGO) test

test-python: build
	bash bindings/python/test.sh

test-node: build
	bash bindings/node/test.sh

test-kotlin: build
	bash bindings/kotlin/test.sh

test: lint test-rust test-python test-node test-kotlin

faults: deps
	$(CARGO) build --bin tenure --bin tenure-faults
	mkdir -p docs/faults
	./target/debug/tenure-faults run --duration $(DURATION) --seed $(SEED) --report docs/faults/report.md
