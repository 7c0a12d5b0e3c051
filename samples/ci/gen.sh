#!/usr/bin/env bash
# samples/ci/gen.sh: the real dumps of the `beamdump ci` gate.
#
#   samples/ci/gen.sh [--force] [-n ITERATIONS] OUTDIR
#
# Runs the leaky suite (ci_leaky_tests) and its fixed twin (ci_fixed_tests)
# against ci_app and keeps, for SUITE in leaky, fixed and POINT in baseline,
# current, final:
#   OUTDIR/SUITE_POINT.dump    the node's crash dump (erlang:halt/1 with a slogan)
#   OUTDIR/SUITE_POINT.truth   key=value facts the live node saw just before
# A dump ends its node, so each point is a fresh node running the same
# deterministic steps (ci_snap.erl explains the three points). Results newer
# than the sources are kept (a second run is instant); --force remakes them.
# Needs erl/erlc (erlang-base), timeout. See docs/ci.md.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
FORCE=0
ITER=40
usage() { echo "usage: $0 [--force] [-n ITERATIONS] OUTDIR" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --force) FORCE=1; shift ;;
        -n) [ $# -ge 2 ] || usage; ITER=$2; shift 2 ;;
        -h|--help) usage ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || usage
mkdir -p "$1" || exit 1
OUT=$(cd "$1" && pwd)
BUILD=$OUT/.build
mkdir -p "$BUILD" || exit 1
unset ERL_CRASH_DUMP ERL_CRASH_DUMP_BYTES ERL_CRASH_DUMP_SECONDS ERL_CRASH_DUMP_NICE \
      ERL_FLAGS ERL_AFLAGS ERL_ZFLAGS ERL_LIBS BEAMDUMP_TRUTH
for tool in erl erlc timeout; do
    command -v $tool >/dev/null 2>&1 || { echo "ci/gen.sh: '$tool' not found (run scripts/deps.sh)" >&2; exit 1; }
done

SRCS="$HERE"/*.erl
fresh() {   # fresh NAME: dump and truth newer than every source and this script
    local f
    [ "$FORCE" = 0 ] && [ -s "$OUT/$1.dump" ] && [ -s "$OUT/$1.truth" ] || return 1
    [ "$(sed -n 's/^requested_iterations=//p' "$OUT/$1.truth")" = "$ITER" ] || return 1
    for f in $SRCS "$HERE/gen.sh"; do [ "$OUT/$1.dump" -nt "$f" ] || return 1; done
}

one() {     # one SUITE POINT: run a node to that point; 0 if a good dump came out
    local suite=$1 point=$2 name=${1}_$2 mod=ci_${1}_tests try last
    for try in 1 2; do
        rm -f "$OUT/$name.dump" "$OUT/$name.truth"
        (cd "$OUT" && ERL_CRASH_DUMP="$OUT/$name.dump" BEAMDUMP_TRUTH="$OUT/$name.truth" \
            timeout -k 5 60 erl +S 2:2 -noshell -pa "$BUILD" -s ci_snap start $mod $point $ITER) \
            >"$OUT/$name.log" 2>&1 </dev/null
        last=$(tail -n 1 "$OUT/$name.dump" 2>/dev/null)
        if [ "$last" = "=end" ] && [ -s "$OUT/$name.truth" ]; then
            echo "requested_iterations=$ITER" >> "$OUT/$name.truth"
            return 0
        fi
        echo "ci/gen.sh: $name: try $try failed (log: $OUT/$name.log)" >&2
    done
    return 1
}

erlc -o "$BUILD" $SRCS || { echo "ci/gen.sh: erlc failed" >&2; exit 1; }
fail=0
pids=()
for suite in leaky fixed; do
    for point in baseline current final; do
        if fresh ${suite}_$point; then echo "skip  ci/${suite}_$point (up to date)"; continue; fi
        one $suite $point &
        pids+=($!)
        if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}" || fail=1; pids=("${pids[@]:1}"); fi
    done
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
for suite in leaky fixed; do
    for point in baseline current final; do
        n=${suite}_$point
        [ -s "$OUT/$n.dump" ] && printf 'ok    ci/%-16s %9s bytes  %s\n' "$n" "$(stat -c %s "$OUT/$n.dump")" "$(sed -n 3p "$OUT/$n.dump")"
    done
done
exit $fail
