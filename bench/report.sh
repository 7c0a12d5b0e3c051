#!/usr/bin/env bash
# bench/report.sh: is `beamdump report` within 3x of `beamdump analyze` on the same
# input, and is the page small (<= 10 MB for a 1 GB dump)?
#
#   bench/report.sh DUMP [RUNS]
#
# Times `analyze DUMP` and `report DUMP` RUNS times each (default 3), prints the best
# wall time (with the CPU time of that run), peak RSS and the page's size as a
# Markdown table, with report / analyze. DUMP is a big real dump, e.g. from
#   erlc -o /tmp bench/mkbig.erl
#   ERL_CRASH_DUMP=/tmp/big.dump erl +P 1000000 -noshell -pa /tmp -run mkbig main big
# BEAMDUMP=path overrides build/beamdump (use a Release build).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DUMP [RUNS]" >&2; exit 2; }
dump=$1 runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bd=${BEAMDUMP:-$root/build/beamdump}
command -v /usr/bin/time >/dev/null || { echo "report.sh: needs /usr/bin/time" >&2; exit 1; }
tf=$(mktemp)
page=$(mktemp --suffix=.html)
trap 'rm -f "$tf" "$page"' EXIT

best() {  # best CMD...: prints "secs rss_mb cpu_secs" of the fastest of $runs runs
    local bs=999999 brss=0 bcpu=0 s rss u y i
    for i in $(seq "$runs"); do
        /usr/bin/time -o "$tf" -f '%e %M %U %S' "$@" >/dev/null 2>&1 || true
        read -r s rss u y < <(tail -n 1 "$tf")
        if awk -v s="$s" -v b="$bs" 'BEGIN { exit !(s < b) }'; then
            bs=$s brss=$((rss / 1024)) bcpu=$(awk -v u="$u" -v y="$y" 'BEGIN { printf "%.2f", u + y }')
        fi
    done
    echo "$bs $brss $bcpu"
}

read -r ta ra ca < <(best "$bd" analyze "$dump")
read -r tr rr cr < <(best "$bd" report -o "$page" "$dump")
size=$(stat -c %s "$page")
ratio=$(awk -v r="$tr" -v a="$ta" 'BEGIN { printf "%.2f", r / a }')
procs=$("$bd" info --json "$dump" 2>/dev/null | sed -n 's/.*"processes": *\([0-9]*\).*/\1/p' | head -n 1)
echo "| command ($(du -h "$dump" | cut -f1) dump, ${procs:-?} processes) | wall, best of $runs (s) | CPU of that run (s) | peak RSS (MB) | output |"
echo "|---|---|---|---|---|"
echo "| \`analyze\` | $ta | $ca | $ra | |"
echo "| \`report\` | $tr | $cr | $rr | $(awk -v b="$size" 'BEGIN { printf "%.2f MB", b / 1e6 }') |"
echo
echo "report / analyze = $ratio (goal: <= 3); page $size bytes (goal: <= 10 MB)"
awk -v r="$ratio" -v s="$size" 'BEGIN { exit !(r <= 3 && s <= 10000000) }'
