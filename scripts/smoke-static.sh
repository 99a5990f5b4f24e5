#!/usr/bin/env bash
# Smoke-tests the static Linux binary that releases ship and the Dockerfile copies: builds
# devlic-cli for x86_64-unknown-linux-musl (a debug build unless a binary is given), checks that
# it has no shared libraries, and runs it for real: `--version`, `validate examples/contoso`, and
# a `plan` of examples/contoso against devlic-sim (the host build) on 127.0.0.1. Nothing leaves
# the machine.
#
# Usage: scripts/smoke-static.sh [--if-available] [BINARY]
#   BINARY          test this binary (e.g. dist/linux-amd64/devlic from build-static.sh)
#                   instead of building target/x86_64-unknown-linux-musl/debug/devlic
#   --if-available  when the musl target or musl-gcc is missing, say so and exit 0 (.ci/run
#                   uses this: a fresh CI machine may not have them)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if_available=false
if [ "${1:-}" = --if-available ]; then
    if_available=true
    shift
fi
target=x86_64-unknown-linux-musl
target_dir=${CARGO_TARGET_DIR:-target}

missing() {
    if $if_available; then
        echo "SKIPPED static binary smoke test: $1 (help: $2)"
        exit 0
    fi
    echo "error: $1" >&2
    echo "help: $2" >&2
    exit 1
}

bin=${1:-}
if [ -z "$bin" ]; then
    if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
        missing "the static build is checked on Linux x86_64 only" "run it on Linux x86_64"
    fi
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        missing "the Rust target $target is not installed" "rustup target add $target"
    fi
    if ! command -v musl-gcc >/dev/null; then
        missing "musl-gcc is missing (aws-lc, the TLS crypto, is compiled from C)" "apt-get install musl-tools"
    fi
    cargo build --locked -q -p devlic-cli --target "$target"
    bin="$target_dir/$target/debug/devlic"
fi

# ldd prints "name => path" for every shared library; a static binary has none (and there is
# no interpreter to load it).
if ldd "$bin" 2>&1 | grep -q "=>"; then
    echo "error: $bin has dynamic dependencies:" >&2
    ldd "$bin" >&2
    exit 1
fi
echo "static: $bin ($(du -h "$bin" | cut -f1))"

"$bin" --version
"$bin" validate examples/contoso

# The simulator is the host build (it is not shipped); cargo reuses it when it is up to date.
cargo build --locked -q -p devlic-graph-sim --bin devlic-sim
log=$(mktemp)
"$target_dir/debug/devlic-sim" serve --tenant examples/tenants/contoso.json --listen 127.0.0.1:0 >"$log" 2>&1 &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; rm -f "$log"' EXIT
url=
for _ in $(seq 100); do
    url=$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$log")
    [ -n "$url" ] && break
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "error: devlic-sim did not start:" >&2
    cat "$log" >&2
    exit 1
fi

# The Contoso example differs from its tenant on purpose: the plan shows the swap.
set +e
AZURE_TENANT_ID=contoso.onmicrosoft.com AZURE_CLIENT_ID=devlic-sim AZURE_CLIENT_SECRET=devlic-sim-secret \
    "$bin" plan examples/contoso --graph-url "$url" --authority-url "$url" >"$log.plan" 2>&1
code=$?
set -e
if [ "$code" -ne 0 ] || ! grep -Eq "swap +Training Center PCs" "$log.plan"; then
    echo "error: plan against the simulator exited $code (expected 0 and the Contoso swap):" >&2
    cat "$log.plan" >&2
    rm -f "$log.plan"
    exit 1
fi
rm -f "$log.plan"
echo "ok: the static binary signs in to the simulator at $url and plans examples/contoso"
