#!/usr/bin/env bash
# Type-checks every crate for x86_64-pc-windows-msvc from Linux, so Unix-only code cannot reach
# the release workflow's Windows build. `cargo check` compiles no Rust to machine code and links
# nothing, but it still runs build scripts, and aws-lc-sys's (the TLS crypto behind rustls and
# jsonwebtoken) compiles AWS-LC's C sources for the target. That needs MSVC or clang-cl and the
# Windows SDK headers, which a Linux machine does not have (with the host's gcc it fails on
# `pthread_rwlock_t`). The C objects are never used by a check, so this script hands the build
# script a stub C compiler and archiver that write empty outputs: every Rust crate, devlic's and
# its dependencies', is still type-checked for Windows; the C code is compiled for real by the
# release workflow's native Windows job.
#
# Usage: scripts/check-windows.sh [--if-available]
#   --if-available  exit 0 with a SKIPPED line when the Rust target is not installed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target=x86_64-pc-windows-msvc
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    if [ "${1:-}" = --if-available ]; then
        echo "SKIPPED cargo check for Windows: the $target target is not installed (rustup target add $target)"
        exit 0
    fi
    echo "error: the Rust target $target is not installed" >&2
    echo "help: rustup target add $target" >&2
    exit 1
fi

stubs="${CARGO_TARGET_DIR:-target}/ci-tools/windows-stub-cc"
mkdir -p "$stubs"
# The stub compiler: writes an empty file wherever it is asked to write one (-o FILE, -oFILE,
# /FoFILE), succeeds, and prints nothing.
cat >"$stubs/cc" <<'STUB'
#!/usr/bin/env bash
out=
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift ;;
        -o*) out=${1#-o} ;;
        /Fo*|-Fo*) out=${1#?Fo} ;;
    esac
    shift
done
if [ -n "$out" ]; then : >"$out"; fi
exit 0
STUB
# The stub archiver: creates the archive named after the flags (ar style `crs LIB objs...`, or
# lib.exe style `-out:LIB`), empty.
cat >"$stubs/ar" <<'STUB'
#!/usr/bin/env bash
for a in "$@"; do
    case "$a" in
        -out:*|/OUT:*|/out:*) : >"${a#*:}"; exit 0 ;;
    esac
done
[ $# -ge 2 ] && : >"$2"
exit 0
STUB
chmod +x "$stubs/cc" "$stubs/ar"

CC_x86_64_pc_windows_msvc="$PWD/$stubs/cc" \
CXX_x86_64_pc_windows_msvc="$PWD/$stubs/cc" \
AR_x86_64_pc_windows_msvc="$PWD/$stubs/ar" \
AWS_LC_SYS_PREBUILT_NASM=1 \
    cargo check --workspace --locked --target "$target"
