# tenure: one entry point for the demo, the tests and the benchmarks.
#
#   make demo                 the README demo on an embedded 3-node cluster
#   make web-demo             the browser demo (examples/web) on tenure dev --web
#   make test                 every test in every language (what CI runs)
#   make docs                 API docs of every language into target/docs (rustdoc,
#                             pdoc, TypeDoc, Dokka)
#   make lint                 rustfmt and clippy on every crate, the bindings included
#   make msrv                 build the crates with the oldest Rust they claim (CI runs it)
#   make crates               package and verify the crates users install (cargo publish --dry-run)
#   make dist                 every release artifact into dist/ (the five below, crates too),
#                             dist/SHA256SUMS and a size table (tools/dist/all.sh)
#   make dist-python          Python wheels (x86_64, aarch64) and sdist into dist/python, install-tested
#   make dist-node            npm packages (tenure + linux x64/arm64 glibc, x64 musl addons) into
#                             dist/node, install-tested
#   make dist-jvm             the JVM jar (linux x86-64 + aarch64 natives), sources and javadoc
#                             jars and POM into dist/jvm, install-tested from a fresh Maven project
#   make dist-server          static musl server tarballs (x86_64, aarch64) into dist/server,
#                             smoke-tested (aarch64 under qemu)
#   make faults DURATION=1h   a long fault-injection soak with a report
#   make stress DURATION=10m  256 clients on their own connections, no faults
#   make soak DURATION=1h     both
#   make bench                tenure and etcd side by side (docs/benchmarks/)
#   make fuzz FUZZ_SECONDS=60 coverage-guided fuzzing, each target that long (docs/fuzzing.md)

CARGO ?= cargo
TENURE := target/debug/tenure
DURATION ?= 10m
SEED ?= 1

.PHONY: demo web-demo build stress soak lint msrv crates deps deps-bench test test-rust test-python test-node test-wasm test-kotlin test-server-artifact docs bench-smoke bench-bindings-smoke bench faults fuzz

demo:
	$(CARGO) build --bin tenure
	./$(TENURE) demo

# The WebAssembly client in a page: builds the package, starts tenure dev --web
# and the page's static server, prints the URL (Ctrl-C stops it).
web-demo:
	bash examples/web/run.sh

build:
	$(CARGO) build --all-targets

# Every member of the workspace, the bindings too (pyo3 needs a Python to
# build against: PYO3_PYTHON).
PYO3_PYTHON ?= python3
export PYO3_PYTHON

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The oldest Rust each crate claims (`rust-version` in the Cargo.toml files):
# 1.88 for the libraries and the Python and Node bindings, 1.89 for the crates
# that use rusqlite. (The Kotlin binding's and uniffi-bindgen's 1.91 comes from
# uniffi's dependencies; cargo enforces it.)
MSRV_LIBS := -p tenure-proto -p tenure -p tenure-server -p tenure-python -p tenure-node \
  -p tenure-bench -p tenure-lossyfs
MSRV_APPS := -p tenure-cli -p tenure-tests -p tenure-examples

msrv:
	rustup toolchain install 1.88 --profile minimal
	$(CARGO) +1.88 check --locked --all-targets $(MSRV_LIBS)
	rustup toolchain install 1.89 --profile minimal
	$(CARGO) +1.89 check --locked --all-targets $(MSRV_APPS)

# The crates users add (tenure-proto, tenure): packaged and built from the
# package alone, as crates.io would, without uploading.
crates:
	$(CARGO) publish --dry-run --allow-dirty -p tenure-proto -p tenure

# Release step, not in `make test`: the abi3 manylinux2014 wheels for x86_64 and
# aarch64 (maturin + zig) and the sdist into dist/python, auditwheel's report,
# the sdist built offline from an empty directory, then the x86_64 wheel
# installed into a fresh venv without cargo on PATH and the binding's tests run
# from it against real clusters. TENURE_DIST_AARCH64=0 skips aarch64.
.PHONY: dist-python
dist-python:
	$(CARGO) build --bin tenure --bin tenure-testkit
	bash bindings/python/dist.sh --test

# npm pack of the main package and each platform package into dist/node (addons
# linked with zig: glibc 2.17, musl), then the main and x86_64 glibc tarballs
# installed into a fresh project without cargo on PATH and the binding's tests
# run from there. TENURE_DIST_CROSS=0 builds only x86_64 glibc.
.PHONY: dist-node dist-jvm dist-server dist
dist-node:
	$(CARGO) build --bin tenure --bin tenure-testkit
	bash bindings/node/dist.sh --test

# The jar with linux-x86-64 and linux-aarch64 natives (zig, glibc 2.17), the
# sources and javadoc jars and the POM into dist/jvm, installed into ~/.m2, then
# the Kotlin tests run from a fresh Maven project against that coordinate.
dist-jvm:
	$(CARGO) build --bin tenure --bin tenure-testkit
	bash bindings/kotlin/dist.sh --test

# Static musl tarballs of the server from HEAD (x86_64, aarch64) with SHA256SUMS,
# each started as a 1-node cluster (aarch64 under qemu-aarch64-static).
dist-server:
	bash tools/dist/server.sh

# Everything above, the crates too, into dist/ with dist/SHA256SUMS.
dist:
	$(CARGO) build --bin tenure --bin tenure-testkit
	bash tools/dist/all.sh

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

# The WebAssembly client: in Node and in headless Chromium (page and Worker).
test-wasm: build
	bash bindings/wasm/test.sh

test-kotlin: build
	bash bindings/kotlin/test.sh

# API docs of every language, generated from the code (CI builds them, after the
# binding tests whose venv, node_modules and generated sources it reuses).
docs: build
	bash tools/docs.sh

# CI runs the benchmark harness only briefly, tenure only, asserting no figure.
bench-smoke: build
	./target/debug/tenure-bench run --smoke --systems tenure --out target/bench-smoke

# Scenario 7 (binding overhead) briefly, with the debug builds the binding tests made.
bench-bindings-smoke: build
	./target/debug/tenure-bench run --smoke --only-bindings --bindings python,node,kotlin --out target/bench-bindings-smoke

# The x86_64 server tarball as `make dist-server` makes it (static musl, zig),
# in the dev profile for time: the static checks and the smoke test of the
# binary from the tarball (a 1-node cluster, status --ready, a lock, SIGTERM).
test-server-artifact:
	bash tools/dist/server.sh --no-aarch64 --profile dev --out target/dist-ci/server

test: lint crates test-rust bench-smoke test-python test-node test-wasm test-kotlin bench-bindings-smoke test-server-artifact docs

deps-bench:
	@command -v etcd >/dev/null 2>&1 || apt-get install -y -q etcd-server etcd-client >/dev/null || \
	  { apt-get update -q >/dev/null && apt-get install -y -q etcd-server etcd-client >/dev/null; }
	@[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt-get install -y -q fonts-dejavu-core >/dev/null || true

# The server is built on its own (-p): a workspace build would unify its features
# with the test crate's (deadlock detection, fault injection, negative controls),
# and the benchmark would measure a binary users never get.
bench: deps-bench
	$(CARGO) build --release -p tenure-cli -p tenure-bench --bin tenure --bin tenure-bench
	bash bench/bindings/prepare.sh
	TENURE_BENCH_PYTHON=target/bench-venv/bin/python TENURE_BENCH_JNA_PATH=target/release \
	  ./target/release/tenure-bench run --tenure-bin target/release/tenure \
	  --bindings python,node,kotlin --out docs/benchmarks

faults: deps
	$(CARGO) build --bin tenure --bin tenure-faults
	mkdir -p docs/faults
	./target/debug/tenure-faults run --duration $(DURATION) --seed $(SEED) --with-load --controls \
	  --report docs/faults/report.md

stress:
	$(CARGO) build --bin tenure --bin tenure-faults
	./target/debug/tenure-faults stress --clients 256 --duration $(DURATION) --seed $(SEED)
	./target/debug/tenure-faults stress --clients 64 --duration $(DURATION) --seed $(SEED)

# The long runs: the fault soak (4 single-client workers and 64 clients in
# turn, then every negative control), then the stress runs.
soak:
	$(MAKE) faults DURATION=$(DURATION) SEED=$(SEED)
	$(MAKE) stress DURATION=$(DURATION) SEED=$(SEED)

# Coverage-guided fuzzing (docs/fuzzing.md): every target of fuzz/ (or those
# in FUZZ_TARGETS) for FUZZ_SECONDS each, with nightly and cargo-fuzz, from the
# seeds of server/src/fuzzing.rs plus what earlier runs left in fuzz/corpus/.
# A crash leaves its input in fuzz/artifacts/<target>/ and stops the run.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= peer_message wal_segment wal_recovery log_record snapshot_file \
  snapshot_body access_file machine_commands request_validation
FUZZ_FLAGS ?= --sanitizer none --debug-assertions

fuzz:
	@rustup toolchain list | grep -q '^nightly' || \
	  { echo "make fuzz needs a nightly toolchain: rustup toolchain install nightly"; exit 1; }
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	$(CARGO) test -p tenure-server --test fuzz -- --ignored --exact write_seed_corpus
	$(CARGO) +nightly fuzz build $(FUZZ_FLAGS)
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  $(CARGO) +nightly fuzz run $(FUZZ_FLAGS) $$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 || exit 1; \
	done
