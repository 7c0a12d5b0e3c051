#!/usr/bin/env bash
# The crash guard's cost while a node runs (docs/native.md): bench/guard_bench.erl
# (message passing, spawning, ETS, sorting, GC) in a node with and without
# LD_PRELOAD=libbeamdump_guard.so, alternating, REPEAT times each; and the node's
# start-up time (erl -eval 'halt().'). Prints a Markdown table.
#   bench/guard.sh [BUILD_DIR] [REPEAT] [ROUNDS]    (defaults: build 7 3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
repeat=${2:-7}
rounds=${3:-3}
lib=$(cd "$build" && pwd)/libbeamdump_guard.so
[ -f "$lib" ] || { echo "guard.sh: no $lib (build first)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
erlc -o "$out" "$here/guard_bench.erl"
run() { # with|without -> "ms cpu_ms rss"
  if [ "$1" = with ]; then
    LD_PRELOAD=$lib BEAMDUMP_GUARD_DIR=$out erl -noshell +S 2 -pa "$out" -run guard_bench main "$rounds"
  else
    erl -noshell +S 2 -pa "$out" -run guard_bench main "$rounds"
  fi | sed -n 's/ms=\([0-9]*\) cpu_ms=\([0-9]*\) rss_kb=\([0-9]*\)/\1 \2 \3/p'
}
start() { # with|without -> ms
  local t0 t1
  t0=$(date +%s%N)
  if [ "$1" = with ]; then
    LD_PRELOAD=$lib BEAMDUMP_GUARD_DIR=$out erl -noshell +S 2 -eval 'halt().'
  else
    erl -noshell +S 2 -eval 'halt().'
  fi
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
declare -a wms wo_ms wcpu wo_cpu wrss wo_rss wst wo_st
for i in $(seq 1 "$repeat"); do
  read -r a c b < <(run without); wo_ms+=("$a"); wo_cpu+=("$c"); wo_rss+=("$b")
  read -r a c b < <(run with); wms+=("$a"); wcpu+=("$c"); wrss+=("$b")
  wo_st+=("$(start without)"); wst+=("$(start with)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
min() { printf '%s\n' "$@" | sort -n | head -1; }
echo "| node | workload CPU time median (min) | wall median (min) | start-up median | VmRSS at end |"
echo "|---|---|---|---|---|"
echo "| without the guard | $(median "${wo_cpu[@]}") ms ($(min "${wo_cpu[@]}") ms) | $(median "${wo_ms[@]}") ms ($(min "${wo_ms[@]}") ms) | $(median "${wo_st[@]}") ms | $(( $(median "${wo_rss[@]}") / 1024 )) MB |"
echo "| with the guard (LD_PRELOAD) | $(median "${wcpu[@]}") ms ($(min "${wcpu[@]}") ms) | $(median "${wms[@]}") ms ($(min "${wms[@]}") ms) | $(median "${wst[@]}") ms | $(( $(median "${wrss[@]}") / 1024 )) MB |"
echo
echo "($repeat runs each, alternating; $rounds rounds of guard_bench per run; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg))"
