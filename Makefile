# tenure: one entry point for the demo, the tests and the benchmarks.
#
#   make demo   the README demo on an embedded 3-node cluster
#   make test   every test in every language (what CI runs)

CARGO ?= cargo
TENURE := target/debug/tenure

.PHONY: demo build lint test test-rust

demo: build
	./$(TENURE) demo

build:
	$(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust: build
	$(CARGO) test --workspace

test: lint test-rust
