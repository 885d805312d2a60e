# Sourced by the release scripts (bindings/node/dist.sh, bindings/kotlin/dist.sh,
# tools/dist/server.sh): zig and cargo-zigbuild, the linker and C compiler of
# every cross and old-glibc/musl build, in one place.
#
#   zig_tools TOOLS_DIR
#
# Installs the `ziglang` package from PyPI into TOOLS_DIR/venv (zig 0.15 is
# what the scripts were tested with; TENURE_DIST_ZIGLANG overrides the pip
# requirement) and cargo-zigbuild into TOOLS_DIR/bin (`cargo install
# --locked`), once, and puts both on PATH: cargo-zigbuild runs `python -m
# ziglang` when there is no zig on PATH. Idempotent within one shell; it
# writes to stderr only (callers capture stdout).

zig_tools() {
    local tools="$1"
    [ -n "${TENURE_ZIG_READY:-}" ] && return 0
    if [ ! -x "$tools/venv/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$tools/venv"
    fi
    "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "${TENURE_DIST_ZIGLANG:-ziglang>=0.13,<0.16}"
    if [ ! -x "$tools/bin/cargo-zigbuild" ]; then
        echo "== installing cargo-zigbuild into $tools" >&2
        nice -n 19 cargo install --locked cargo-zigbuild --root "$tools" >&2
    fi
    export PATH="$tools/bin:$tools/venv/bin:$PATH"
    echo "== zig $(python -m ziglang version), $(cargo-zigbuild --version)" >&2
    TENURE_ZIG_READY=1
}
