#!/usr/bin/env bash
# Builds one self-contained `devlic` binary (static-pie, no shared libraries) for Linux x86_64.
#
# The gnu target links glibc statically with `+crt-static`; it needs glibc's static archive
# (Debian/Ubuntu: libc6-dev, present wherever Rust's gnu toolchain builds). `--target` must be
# given explicitly so proc-macro crates are still built as normal shared objects.
#
# Name resolution: since glibc 2.34 the `files` and `dns` NSS services are part of libc itself,
# so the static binary reads /etc/hosts and /etc/resolv.conf without loading any library; other
# NSS modules (mdns, systemd-resolved's nss-resolve, LDAP) are not available to it.
#
# Usage: scripts/build-static.sh [OUT]   (default OUT: target/static/devlic)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target=x86_64-unknown-linux-gnu
out=${1:-target/static/devlic}
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "error: this script builds for $target and must run on Linux x86_64" >&2
    exit 1
fi
found=
for a in /usr/lib/x86_64-linux-gnu/libc.a /usr/lib64/libc.a /usr/lib/libc.a; do
    [ -f "$a" ] && found=$a
done
if [ -z "$found" ]; then
    echo "error: glibc's static archive (libc.a) is missing" >&2
    echo "help: install it, e.g. 'apt-get install libc6-dev'" >&2
    exit 1
fi

RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --locked -p devlic-cli --target "$target"

mkdir -p "$(dirname "$out")"
cp "${CARGO_TARGET_DIR:-target}/$target/release/devlic" "$out"
if command -v file >/dev/null 2>&1; then
    file "$out"
fi
# ldd lists "name => path" for every shared library; a static binary has none.
if ldd "$out" 2>&1 | grep -q "=>"; then
    echo "error: $out still has dynamic dependencies:" >&2
    ldd "$out" >&2
    exit 1
fi
"$out" --version
echo "built $out ($(du -h "$out" | cut -f1))"
