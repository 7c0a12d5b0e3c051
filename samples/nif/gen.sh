#!/usr/bin/env bash
# gen.sh: real native crashes of a real BEAM for beamdump (docs/native.md).
#
#   samples/nif/gen.sh [--guard LIB | --core-limit KB] [--force] OUTDIR [CASE...]
#   samples/nif/gen.sh --list
#
# Builds the crashing NIF library (bd_crash_nif.c, linked to libbd_crash_helper.so) in
# several ways, each in OUTDIR/lib/VARIANT: debug (gcc -g -O2), release (gcc -O2, no
# debug information), split (-g moved into a separate debug file found through
# .gnu_debuglink in lib/split/.debug/), clang (clang -g -O0), o3 (clang -g -O3), omitfp
# (gcc -O3 -fomit-frame-pointer, no -g), stripped (gcc -O2, strip --strip-all); the C++
# NIF (bd_crash_cpp.cc, g++ -g -O2), the crashing port driver, the Erlang modules and,
# for the kind elixir, the Elixir application (bd_crash_ex.ex, elixirc) with the library
# built for its module Elixir.BdCrash.Native. Then runs one node per CASE that dies for
# real. A CASE is KIND (the debug library) or KIND:VARIANT, KIND as in bd_crash_nif.erl
# (or elixir: the NULL dereference called from Elixir). Each run happens in
# OUTDIR/CASE/ (":" becomes "-") and leaves there
#   core            the kernel's core file (cores on: ulimit -c unlimited)
#   beam-*.bdump    with --guard LIB: the crash guard's snapshot (cores off)
#   truth           key=value facts the node wrote before it crashed
#   log             the node's output
# With --core-limit KB the node runs with ulimit -c KB: the kernel cuts its core there,
# as a small RLIMIT_CORE (or systemd's LimitCORE=) does; the case's directory is
# OUTDIR/CASE-cut.
# With --guard the node runs with LD_PRELOAD=LIB and BEAMDUMP_GUARD_DIR=OUTDIR/CASE
# and ulimit -c 0; without it, cores must land in the working directory
# (kernel.core_pattern "core" or "core.%p"): otherwise the script says so, leaves
# OUTDIR/SKIPPED with the reason (the tests then skip the core cases) and exits 0.
# A case whose outputs are newer than its sources is not run again (--force).
# Small nodes (+S 2, one dirty I/O scheduler) keep a run near one second.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KINDS="null_deref abort assert double_free stack_overflow dirty thread corrupt driver async
       div_zero trap bus_error rodata null_call libc_fault helper_fault resource_dtor load
       bad_api cpp_throw cpp_segv elixir"
# Every signal and way in (cores), and the guard on the kinds that differ for it.
MORE="div_zero trap bus_error rodata null_call helper_fault resource_dtor load bad_api cpp_throw elixir
      null_deref:clang div_zero:o3 helper_fault:omitfp null_deref:stripped"
DEFAULT="null_deref null_deref:release null_deref:split abort assert double_free stack_overflow dirty dirty:release thread corrupt driver async
         $MORE libc_fault cpp_segv"
GUARD_DEFAULT="null_deref null_deref:release null_deref:split abort assert double_free stack_overflow dirty dirty:release thread corrupt driver async
               $MORE"
GUARD=""
FORCE=0
CORE_LIMIT=unlimited
usage() { echo "usage: $0 [--guard LIB | --core-limit KB] [--force] OUTDIR [CASE...]   (kinds: $KINDS)" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --list) echo "$DEFAULT" | tr ' ' '\n'; exit 0 ;;
        --guard) [ $# -ge 2 ] || usage; GUARD=$2; shift 2 ;;
        --core-limit) [ $# -ge 2 ] || usage; CORE_LIMIT=$2; shift 2 ;;
        --force) FORCE=1; shift ;;
        -h|--help) usage ;;
        -*) echo "gen.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
OUT=$1; shift
[ -n "$GUARD" ] && DEFAULT=$GUARD_DEFAULT
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
VARIANTS="debug release split clang o3 omitfp stripped elixir"
for v in $VARIANTS; do mkdir -p "$LIB/$v"; done
mkdir -p "$LIB/split/.debug" "$OUT/ebin" "$OUT/exbin"
newer() { [ -e "$1" ] && [ "$1" -nt "$2" ]; }
CLANG=$(command -v clang || command -v clang-14 || true)
build() { # out src compiler flags...
    local out=$1 src=$2 cc=$3; shift 3
    newer "$out" "$src" && newer "$out" "$0" && newer "$out" "$LIB/libbd_crash_helper.so" && return 0
    [ -n "$cc" ] || return 0
    "$cc" -shared -fPIC -Wall -I"$INC" "$@" -o "$out" "$src" \
        -L"$LIB" -lbd_crash_helper -Wl,-rpath,"$LIB" || exit 1
}
if ! newer "$LIB/libbd_crash_helper.so" "$HERE/bd_crash_helper.c"; then
    gcc -shared -fPIC -Wall -g -O2 -o "$LIB/libbd_crash_helper.so" "$HERE/bd_crash_helper.c" || exit 1
fi
NIF=$HERE/bd_crash_nif.c
build "$LIB/debug/bd_crash_nif.so" "$NIF" gcc -g -O2
build "$LIB/release/bd_crash_nif.so" "$NIF" gcc -O2
build "$LIB/clang/bd_crash_nif.so" "$NIF" "$CLANG" -g -O0
build "$LIB/o3/bd_crash_nif.so" "$NIF" "$CLANG" -g -O3
build "$LIB/omitfp/bd_crash_nif.so" "$NIF" gcc -O3 -fomit-frame-pointer
build "$LIB/elixir/bd_crash_nif.so" "$NIF" gcc -g -O2 -DBD_NIF_MODULE=Elixir.BdCrash.Native
build "$LIB/debug/bd_crash_cpp.so" "$HERE/bd_crash_cpp.cc" g++ -g -O2
build "$LIB/debug/bd_crash_drv.so" "$HERE/bd_crash_drv.c" gcc -g -O1
if ! newer "$LIB/stripped/bd_crash_nif.so" "$NIF" || ! newer "$LIB/stripped/bd_crash_nif.so" "$0"; then
    build "$LIB/stripped/bd_crash_nif.so" "$NIF" gcc -O2
    strip --strip-all "$LIB/stripped/bd_crash_nif.so" || exit 1
fi
if ! newer "$LIB/split/.debug/bd_crash_nif.so.debug" "$NIF" ||
   ! newer "$LIB/split/.debug/bd_crash_nif.so.debug" "$0"; then
    build "$LIB/split/bd_crash_nif.so" "$NIF" gcc -g -O1
    objcopy --only-keep-debug "$LIB/split/bd_crash_nif.so" "$LIB/split/.debug/bd_crash_nif.so.debug" &&
    objcopy --strip-debug --add-gnu-debuglink="$LIB/split/.debug/bd_crash_nif.so.debug" \
        "$LIB/split/bd_crash_nif.so" || exit 1
    touch "$LIB/split/.debug/bd_crash_nif.so.debug"
fi
for m in bd_crash_nif bd_crash_cpp; do
    if ! newer "$OUT/ebin/$m.beam" "$HERE/$m.erl"; then
        erlc -o "$OUT/ebin" "$HERE/$m.erl" || exit 1
    fi
done

fail=0
for c in $CASES; do
    kind=${c%%:*}
    variant=debug
    [ "$kind" != "$c" ] && variant=${c#*:}
    case " $(echo $KINDS) " in *" $kind "*) ;; *) echo "gen.sh: unknown kind '$kind'" >&2; exit 2 ;; esac
    case " $VARIANTS " in *" $variant "*) ;; *) echo "gen.sh: unknown variant '$variant'" >&2; exit 2 ;; esac
    [ "$kind" = elixir ] && variant=elixir
    if [ ! -e "$LIB/$variant/bd_crash_nif.so" ]; then
        echo "gen.sh: $c: no compiler for the $variant library; skipped" >&2
        continue
    fi
    if [ "$kind" = elixir ]; then
        command -v elixirc >/dev/null || { echo "gen.sh: $c: no elixirc; skipped" >&2; continue; }
        if ! newer "$OUT/exbin/Elixir.BdCrash.beam" "$HERE/bd_crash_ex.ex"; then
            elixirc -o "$OUT/exbin" "$HERE/bd_crash_ex.ex" >/dev/null || exit 1
        fi
    fi
    dir=$OUT/${c//:/-}
    [ "$CORE_LIMIT" != unlimited ] && dir=$dir-cut
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
        export BD_CRASH_CPP=$LIB/debug/bd_crash_cpp
        [ "$kind" = load ] && export BD_CRASH_ON_LOAD=1
        if [ -n "$GUARD" ]; then
            ulimit -c 0
            export LD_PRELOAD=$GUARD BEAMDUMP_GUARD_DIR=$dir
        else
            ulimit -c "$CORE_LIMIT"
        fi
        if [ "$kind" = elixir ]; then
            exec timeout -k 5 30 elixir --erl "+S 2 +SDio 1" -pa "$OUT/exbin" -e 'BdCrash.main("null_deref")' </dev/null
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
