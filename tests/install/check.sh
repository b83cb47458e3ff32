#!/usr/bin/env bash
# tests/install/check.sh BUILD_DIR - `meson install` into a scratch prefix, build a
# tiny app against it with pkg-config alone, run it, and GET / from it.
# Prints "1 passed, 0 failed" or "0 passed, 1 failed".
set -uo pipefail
build=$(realpath "${1:?usage: check.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d /tmp/tern-install-XXXXXX)
trap 'kill "$pid" 2>/dev/null; rm -rf "$scratch"' EXIT
pid=
fail() { echo "install check: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

DESTDIR="$scratch/root" meson install -C "$build" --quiet >/dev/null || fail "meson install failed"
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
libdir=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')
root="$scratch/root$prefix"
case "$libdir" in /*) lib="$scratch/root$libdir" ;; *) lib="$root/$libdir" ;; esac
pc=$(dirname "$(find "$scratch/root" -name tern.pc | head -1)")
[ -n "$pc" ] || fail "no tern.pc installed"
# pkg-config's sysroot handling points include and lib paths into the scratch root
flags=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$scratch/root" pkg-config --cflags --libs tern) \
  || fail "pkg-config --cflags --libs tern failed"
cc $flags -Wall -Wextra -Werror "$here/hello_app.c" $flags -o "$scratch/hello_app" \
  || fail "the app did not build against the installed tern"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LD_LIBRARY_PATH="$lib" "$scratch/hello_app" --host 127.0.0.1 --port "$port" --access_log off \
  >"$scratch/app.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  body=$(curl -sf "http://127.0.0.1:$port/" 2>/dev/null) && break
  sleep 0.05
done
[ "${body:-}" = '{"hello":"installed tern"}' ] || { cat "$scratch/app.log" >&2; fail "unexpected answer: ${body:-none}"; }
kill -TERM "$pid"; wait "$pid"; rc=$?
[ "$rc" = 0 ] || fail "the app exited $rc on SIGTERM"
echo "install check: built and ran an app with: $flags" >&2
echo "1 passed, 0 failed"
