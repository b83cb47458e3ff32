#!/usr/bin/env bash
# tests/cross/run_aarch64.sh - runs the coroutine core's portable checks
# (coro_portable.c) on aarch64 under qemu-user, and natively on this machine.
#
#   tests/cross/run_aarch64.sh           both: native first, then aarch64 under qemu
#   tests/cross/run_aarch64.sh native    only the native build
#   tests/cross/run_aarch64.sh aarch64   only the aarch64 build under qemu
#
# The aarch64 build is static, made with aarch64-linux-gnu-gcc; when that compiler or
# qemu-aarch64 is missing, the script installs gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross and qemu-user with apt-get (as root, or through sudo).
# Exits non-zero when a build fails or any check fails. Needs only the files of the
# coroutine core, not the meson build.
set -euo pipefail

mode=${1:-both}
case "$mode" in
both | native | aarch64) ;;
*)
    echo "usage: $0 [both|native|aarch64]" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

cflags=(-std=gnu11 -Wall -Wextra -Werror -O2 -Iinclude -Iserver)
core=(tests/cross/coro_portable.c server/coro.c server/stack_pool.c server/errmsg.c)
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-cross.XXXXXX")
trap 'rm -rf "$work"' EXIT

status=0

run_native() {
    local arch
    arch=$(uname -m)
    case "$arch" in
    x86_64 | aarch64) ;;
    *)
        echo "== native: tern has no context switch for $arch" >&2
        status=1
        return
        ;;
    esac
    echo "== native $arch"
    "${CC:-cc}" "${cflags[@]}" "${core[@]}" "server/coro_switch_$arch.S" \
        -o "$work/coro_portable_native"
    "$work/coro_portable_native" || status=1
}

find_qemu() {
    command -v qemu-aarch64 || command -v qemu-aarch64-static || true
}

install_cross_tools() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then
            sudo=(sudo -n)
        else
            echo "need root (or sudo) to install the aarch64 cross tools" >&2
            exit 1
        fi
    fi
    echo "== installing gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
}

run_aarch64() {
    if ! command -v aarch64-linux-gnu-gcc >/dev/null || [ -z "$(find_qemu)" ]; then
        install_cross_tools
    fi
    local qemu
    qemu=$(find_qemu)
    if [ -z "$qemu" ]; then
        echo "qemu-aarch64 still missing after the install" >&2
        exit 1
    fi
    echo "== aarch64 under $(basename "$qemu")"
    aarch64-linux-gnu-gcc -static "${cflags[@]}" "${core[@]}" server/coro_switch_aarch64.S \
        -o "$work/coro_portable_aarch64"
    "$qemu" "$work/coro_portable_aarch64" || status=1
}

if [ "$mode" != aarch64 ]; then
    run_native
fi
if [ "$mode" != native ]; then
    run_aarch64
fi
exit "$status"
