#!/bin/sh
# The crash guard may only call what dump/guard_allowlist.txt lists (its signal handler
# only the async-signal-safe group), and may export only nif_init and pthread_create.
#   check_guard_symbols.sh LIBBEAMDUMP_GUARD ALLOWLIST
set -eu
lib=$1 allow=$2
bad=$(nm -D -u "$lib" | awk '{ print $2 }' | sed 's/@.*//' | sort -u | while read -r sym; do
  grep -qx "$sym" "$allow" || echo "$sym"
done)
if [ -n "$bad" ]; then
  echo "libbeamdump_guard.so calls functions that are not on $allow:" >&2
  echo "$bad" >&2
  exit 1
fi
extra=$(nm -D --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -vx -e nif_init -e pthread_create || true)
if [ -n "$extra" ]; then
  echo "libbeamdump_guard.so exports more than nif_init and pthread_create:" >&2
  echo "$extra" >&2
  exit 1
fi
echo "libbeamdump_guard.so: $(nm -D -u "$lib" | wc -l) undefined symbols, all allowed; exports nif_init, pthread_create"
