#!/usr/bin/env bash
# The web demo (`make web-demo`): builds the wasm package and the tenure
# binary, starts `tenure dev --web` (3 nodes on 127.0.0.1:7100-7102, gRPC-web
# for local pages) and the demo's static server, and prints the URL. Ctrl-C
# stops both.
#
# Environment: WEB_PORT (default 8080), TENURE_PORT (default 7100),
# TENURE_WASM_PROFILE (release, the default, or debug: faster to build),
# TENURE_BIN (a tenure binary to use instead of building target/debug/tenure).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
web_port="${WEB_PORT:-8080}"
tenure_port="${TENURE_PORT:-7100}"

bash "$root/bindings/wasm/build.sh"
if [[ -z "${TENURE_BIN:-}" ]]; then
  (cd "$root" && cargo build --bin tenure)
  TENURE_BIN="$root/target/debug/tenure"
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$TENURE_BIN" dev --web --port "$tenure_port" &
pids+=($!)
endpoints="127.0.0.1:$tenure_port,127.0.0.1:$((tenure_port + 1)),127.0.0.1:$((tenure_port + 2))"
node "$here/serve.mjs" --port "$web_port" --endpoints "$endpoints" &
pids+=($!)
sleep 1
echo
echo "open http://127.0.0.1:$web_port/ (cluster $endpoints; Ctrl-C stops it)"
echo "try: TENURE_ENDPOINTS=$endpoints target/debug/tenure sessions"
echo "     TENURE_ENDPOINTS=$endpoints target/debug/tenure blacklist <session id of the page>"
wait
