#!/usr/bin/env bash
# gen.sh: real native crashes of a real BEAM for beamdump (docs/native.md).
#
#   samples/nif/gen.sh [--guard LIB] [--force] OUTDIR [CASE...]
#   samples/nif/gen.sh --list
#
# Builds the crashing NIF library three times (OUTDIR/lib/debug: -g; OUTDIR/lib/release:
# -O2 without debug information; OUTDIR/lib/split: -g moved into a separate debug file
# found through .gnu_debuglink in lib/split/.debug/), the crashing port driver, and
# bd_crash_nif.beam, then runs one node per CASE that dies for real. A CASE is KIND
# (the -g library) or KIND:release or KIND:split, KIND as in bd_crash_nif.erl. Each run happens in
# OUTDIR/CASE/ (":" becomes "-") and leaves there
#   core            the kernel's core file (cores on: ulimit -c unlimited)
#   beam-*.bdump    with --guard LIB: the crash guard's snapshot (cores off)
#   truth           key=value facts the node wrote before it crashed
#   log             the node's output
# With --guard the node runs with LD_PRELOAD=LIB and BEAMDUMP_GUARD_DIR=OUTDIR/CASE
# and ulimit -c 0; without it, cores must land in the working directory
# (kernel.core_pattern "core" or "core.%p"): otherwise the script says so, leaves
# OUTDIR/SKIPPED with the reason (the tests then skip the core cases) and exits 0.
# A case whose outputs are newer than its sources is not run again (--force).
# Small nodes (+S 2, one dirty I/O scheduler) keep a run near one second.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KINDS="null_deref abort assert double_free stack_overflow dirty thread corrupt driver async"
DEFAULT="null_deref null_deref:release null_deref:split abort assert double_free stack_overflow dirty dirty:release thread corrupt driver async"
GUARD=""
FORCE=0
usage() { echo "usage: $0 [--guard LIB] [--force] OUTDIR [CASE...]   (kinds: $KINDS)" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --list) echo "$DEFAULT" | tr ' ' '\n'; exit 0 ;;
        --guard) [ $# -ge 2 ] || usage; GUARD=$2; shift 2 ;;
        --force) FORCE=1; shift ;;
        -h|--help) usage ;;
        -*) echo "gen.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
OUT=$1; shift
CASES=${*:-$DEFAULT}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT/SKIPPED"
if [ -n "$GUARD" ]; then
    GUARD=$(cd "$(dirname "$GUARD")" && pwd)/$(basename "$GUARD")
    [ -f "$GUARD" ] || { echo "gen.sh: no guard library $GUARD" >&2; exit 1; }
fi

pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo "?")
if [ -z "$GUARD" ]; then
    case $pattern in
        core|core.%p) ;;
        *) echo "gen.sh: kernel.core_pattern is '$pattern': cores do not land in the working directory; core cases skipped" >&2
           echo "kernel.core_pattern is '$pattern'" >"$OUT/SKIPPED"
           exit 0 ;;
    esac
fi

ERLROOT=$(erl -noshell -eval 'io:format("~s",[code:root_dir()]),halt().') || exit 1
INC=$ERLROOT/usr/include
LIB=$OUT/lib
mkdir -p "$LIB/debug" "$LIB/release" "$LIB/split/.debug" "$OUT/ebin"
newer() { [ -e "$1" ] && [ "$1" -nt "$2" ]; }
build() { # out src flags...
    local out=$1 src=$2; shift 2
    newer "$out" "$src" && newer "$out" "$0" && return 0
    gcc -shared -fPIC -Wall -I"$INC" "$@" -o "$out" "$src" || exit 1
}
build "$LIB/debug/bd_crash_nif.so" "$HERE/bd_crash_nif.c" -g -O2
build "$LIB/release/bd_crash_nif.so" "$HERE/bd_crash_nif.c" -O2
build "$LIB/debug/bd_crash_drv.so" "$HERE/bd_crash_drv.c" -g -O1
if ! newer "$LIB/split/.debug/bd_crash_nif.so.debug" "$HERE/bd_crash_nif.c" ||
   ! newer "$LIB/split/.debug/bd_crash_nif.so.debug" "$0"; then
    build "$LIB/split/bd_crash_nif.so" "$HERE/bd_crash_nif.c" -g -O1
    objcopy --only-keep-debug "$LIB/split/bd_crash_nif.so" "$LIB/split/.debug/bd_crash_nif.so.debug" &&
    objcopy --strip-debug --add-gnu-debuglink="$LIB/split/.debug/bd_crash_nif.so.debug" \
        "$LIB/split/bd_crash_nif.so" || exit 1
    touch "$LIB/split/.debug/bd_crash_nif.so.debug"
fi
if ! newer "$OUT/ebin/bd_crash_nif.beam" "$HERE/bd_crash_nif.erl"; then
    erlc -o "$OUT/ebin" "$HERE/bd_crash_nif.erl" || exit 1
fi

fail=0
for c in $CASES; do
    kind=${c%%:*}
    variant=debug
    [ "$kind" != "$c" ] && variant=${c#*:}
    case " $KINDS " in *" $kind "*) ;; *) echo "gen.sh: unknown kind '$kind'" >&2; exit 2 ;; esac
    dir=$OUT/${c//:/-}
    mkdir -p "$dir"
    if [ -n "$GUARD" ]; then want="$dir/beam-*.bdump"; else want="$dir/core"; fi
    # shellcheck disable=SC2086
    set -- $want
    if [ "$FORCE" = 0 ] && newer "$1" "$LIB/$variant/bd_crash_nif.so" && newer "$1" "$OUT/ebin/bd_crash_nif.beam" &&
       newer "$dir/truth" "$LIB/$variant/bd_crash_nif.so" && { [ -z "$GUARD" ] || newer "$1" "$GUARD"; }; then
        continue
    fi
    rm -f "$dir"/core "$dir"/core.* "$dir"/beam-*.bdump "$dir"/beam-*.bdump.partial "$dir/truth"
    { (
        cd "$dir" || exit 1
        unset ERL_FLAGS ERL_AFLAGS ERL_ZFLAGS ERL_LIBS ERL_CRASH_DUMP
        export BD_CRASH_NIF=$LIB/$variant/bd_crash_nif BD_CRASH_DRV_DIR=$LIB/debug BEAMDUMP_TRUTH=$dir/truth
        if [ -n "$GUARD" ]; then
            ulimit -c 0
            export LD_PRELOAD=$GUARD BEAMDUMP_GUARD_DIR=$dir
        else
            ulimit -c unlimited
        fi
        exec timeout -k 5 30 erl -noshell +S 2 +SDio 1 -pa "$OUT/ebin" -run bd_crash_nif main "$kind" </dev/null
    ) ; } >"$dir/log" 2>&1
    status=$?
    [ -e "$dir/core" ] || for f in "$dir"/core.*; do [ -e "$f" ] && mv "$f" "$dir/core"; done
    # shellcheck disable=SC2086
    set -- $want
    if [ "$status" -lt 128 ] || [ ! -e "$1" ] || [ ! -s "$dir/truth" ]; then
        echo "gen.sh: $c: no crash output (exit $status, see $dir/log)" >&2
        fail=1
    fi
done
exit $fail
