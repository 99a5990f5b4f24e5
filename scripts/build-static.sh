#!/usr/bin/env bash
# Builds one self-contained `devlic` binary (static, no shared libraries) for Linux, as the
# release workflow does, and smoke-tests it. The root Dockerfile copies such a binary from
# dist/linux-<arch>/devlic.
#
#   musl (default; what releases ship): needs the target (`rustup target add
#   x86_64-unknown-linux-musl`) and musl's C compiler wrapper (Debian/Ubuntu: `apt-get install
#   musl-tools`), because aws-lc (the TLS crypto) is C. Name resolution reads /etc/hosts and
#   /etc/resolv.conf; musl has no NSS modules at all.
#   gnu (--gnu): glibc linked statically with `+crt-static`; needs glibc's static archive
#   (libc6-dev). Since glibc 2.34 the `files` and `dns` NSS services are inside libc, so name
#   resolution works; other NSS modules (mdns, nss-resolve, LDAP) are not available to it.
# `--target` is always given explicitly so proc-macro crates are still built as normal shared
# objects.
#
# Usage: scripts/build-static.sh [--gnu] [OUT]   (default OUT: target/static/devlic)
#   e.g. for the container image: scripts/build-static.sh dist/linux-amd64/devlic
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

libc=musl
if [ "${1:-}" = --gnu ]; then
    libc=gnu
    shift
fi
arch=$(uname -m)
out=${1:-target/static/devlic}
if [ "$(uname -s)" != Linux ] || { [ "$arch" != x86_64 ] && [ "$arch" != aarch64 ]; }; then
    echo "error: this script builds on Linux x86_64 or aarch64" >&2
    exit 1
fi
target=$arch-unknown-linux-$libc

if [ "$libc" = musl ]; then
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        echo "error: the Rust target $target is not installed" >&2
        echo "help: rustup target add $target" >&2
        exit 1
    fi
    if ! command -v musl-gcc >/dev/null; then
        echo "error: musl-gcc is missing (aws-lc is compiled from C)" >&2
        echo "help: install it, e.g. 'apt-get install musl-tools'" >&2
        exit 1
    fi
    cargo build --release --locked -p devlic-cli --target "$target"
else
    found=
    for a in "/usr/lib/$arch-linux-gnu/libc.a" /usr/lib64/libc.a /usr/lib/libc.a; do
        [ -f "$a" ] && found=$a
    done
    if [ -z "$found" ]; then
        echo "error: glibc's static archive (libc.a) is missing" >&2
        echo "help: install it, e.g. 'apt-get install libc6-dev'" >&2
        exit 1
    fi
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
        cargo build --release --locked -p devlic-cli --target "$target"
fi

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
