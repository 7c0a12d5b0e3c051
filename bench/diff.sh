#!/usr/bin/env bash
# bench/diff.sh: is `beamdump diff A B` within 2x of `beamdump analyze A`? (issue 5)
#
#   bench/diff.sh A.dump B.dump [RUNS]
#
# Times `info A` (the reader alone), `analyze A`, `analyze B` and `diff A B`, RUNS
# times each (default 3), and prints the best wall time (with its CPU time) and peak
# RSS of each as a
# Markdown table, with diff / analyze(A). B is a second big dump, e.g. made with
#   erlc -o /tmp bench/mkbig.erl
#   ERL_CRASH_DUMP=/tmp/big2.dump erl +P 1000000 -noshell -pa /tmp \
#       -run mkbig main big procs=420000 msgs=1100000
# BEAMDUMP=path overrides build/beamdump (use a Release build).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 A.dump B.dump [RUNS]" >&2; exit 2; }
a=$1 b=$2 runs=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bd=${BEAMDUMP:-$root/build/beamdump}
command -v /usr/bin/time >/dev/null || { echo "diff.sh: needs /usr/bin/time" >&2; exit 1; }
tf=$(mktemp)
trap 'rm -f "$tf"' EXIT

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

read -r ti ri ci < <(best "$bd" info "$a")
read -r ta ra ca < <(best "$bd" analyze "$a")
read -r tb rb cb < <(best "$bd" analyze "$b")
read -r td rd cd < <(best "$bd" diff "$a" "$b")
ratio=$(awk -v d="$td" -v a="$ta" 'BEGIN { printf "%.2f", d / a }')
echo "| command | wall, best of $runs (s) | CPU of that run (s) | peak RSS (MB) |"
echo "|---|---|---|---|"
echo "| \`info A\` ($(du -h "$a" | cut -f1)) | $ti | $ci | $ri |"
echo "| \`analyze A\` | $ta | $ca | $ra |"
echo "| \`analyze B\` ($(du -h "$b" | cut -f1)) | $tb | $cb | $rb |"
echo "| \`diff A B\` | $td | $cd | $rd |"
echo
echo "diff / analyze(A) = $ratio (goal: <= 2)"
awk -v r="$ratio" 'BEGIN { exit !(r <= 2) }'
