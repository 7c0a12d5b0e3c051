#!/usr/bin/env bash
# Snapshot figures for one dump: .bdump size against zstd of the same text, convert
# speed, and the time to open the snapshot and print one process (docs/FORMAT.md §7).
# Usage: bench/snapshot.sh DUMP [PID_OR_NAME...]   (default: <0.2000.0> big_mbox)
#   ZSTD=0 skips the zstd runs (zstd -19 --long=27 takes minutes on big dumps).
#   BEAMDUMP=path overrides build/beamdump.  Prints a Markdown table.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bd=${BEAMDUMP:-$root/build/beamdump}
dump=$1
shift
procs=("$@")
[ ${#procs[@]} -gt 0 ] || procs=("<0.2000.0>" big_mbox)
out=${TMPDIR:-/tmp}/bdsnap-bench.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
bytes=$(stat -c %s "$dump")
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
pct() { awk -v a="$1" -v b="$bytes" 'BEGIN { printf "%.2f %%", 100 * a / b }'; }

cat "$dump" >/dev/null # warm page cache
best=999
for _ in 1 2 3; do
  t0=$(now); "$bd" convert "$dump" -o "$out/x.bdump" 2>"$out/convert.log" || [ $? = 4 ]; t1=$(now)
  s=$(secs "$t0" "$t1"); best=$(awk -v a="$s" -v b="$best" 'BEGIN { print (a < b ? a : b) }')
done
snap=$(stat -c %s "$out/x.bdump")
nprocs=$(grep -c '^=proc:' "$dump" || true)
echo "Dump: $(basename "$dump"), $bytes bytes, $nprocs processes; $(nproc) vCPU" \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d)."
echo
echo "| what | bytes | % of text | time s | MB/s of text |"
echo "|---|---:|---:|---:|---:|"
echo "| text dump | $bytes | 100 % | | |"
echo "| beamdump convert (.bdump, zstd -3 inside) | $snap | $(pct "$snap") | $best |" \
     "$(awk -v b="$bytes" -v s="$best" 'BEGIN { printf "%.0f", b / 1e6 / s }') |"
if [ "${ZSTD:-1}" = 1 ]; then
  for lvl in "-3" "-19 --long=27"; do
    t0=$(now); zstd -q -f -T1 $lvl "$dump" -o "$out/x.zst"; t1=$(now)
    z=$(stat -c %s "$out/x.zst"); s=$(secs "$t0" "$t1")
    echo "| zstd $lvl -T1 of the text | $z | $(pct "$z") | $s |" \
         "$(awk -v b="$bytes" -v s="$s" 'BEGIN { printf "%.1f", b / 1e6 / s }') |"
  done
fi
echo
echo "| command on the .bdump (open + run, best of 5) | ms |"
echo "|---|---:|"
timeit() {
  local best=999999 t0 t1 ms
  for _ in 1 2 3 4 5; do
    t0=$(now); "$bd" "$@" "$out/x.bdump" >/dev/null 2>&1 || true; t1=$(now)
    ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
    best=$(awk -v a="$ms" -v b="$best" 'BEGIN { print (a < b ? a : b) }')
  done
  echo "| beamdump $* | $best |"
}
timeit info
for p in "${procs[@]}"; do timeit proc "$p"; done
timeit top -n 20
