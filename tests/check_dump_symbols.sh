#!/bin/sh
# The writer library may only call async-signal-safe functions: compare the undefined
# symbols of libbd_dump.a (nm -u) with dump/allowlist.txt. With sanitizers on, their
# runtime hooks (__asan_*, __ubsan_*, __sanitizer_*) are allowed too.
#   check_dump_symbols.sh LIBBD_DUMP ALLOWLIST [sanitize]
set -eu
lib=$1 allow=$2 san=${3:-}
bad=$(nm -u "$lib" | awk '$1 == "U" || $1 == "w" { print $2 }' | sort -u | while read -r sym; do
  grep -qx "$sym" "$allow" && continue
  if [ -n "$san" ]; then
    case $sym in __asan_*|__ubsan_*|__sanitizer_*|__lsan_*) continue ;; esac
  fi
  echo "$sym"
done)
if [ -n "$bad" ]; then
  echo "libbd_dump.a calls functions that are not on $allow:" >&2
  echo "$bad" >&2
  exit 1
fi
# And nothing of zstd (or anything else) but bd_writer_* is visible.
extra=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -v '^bd_writer_' || true)
if [ -n "$extra" ]; then
  echo "libbd_dump.a exports more than bd_writer_*:" >&2
  echo "$extra" >&2
  exit 1
fi
echo "libbd_dump.a: $(nm -u "$lib" | grep -c ' [Uw] ') undefined symbols, all allowed"
