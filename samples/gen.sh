#!/usr/bin/env bash
# gen.sh: make the real crash-dump samples of beamdump.
#
#   samples/gen.sh [--force] [--jobs N] OUTDIR [NAME...]
#   samples/gen.sh --list
#   samples/gen.sh --dry-run OUTDIR [NAME...]   (print the commands, run nothing)
#
# For each scenario NAME it compiles the sample programs (erlc, into
# OUTDIR/.build), runs a real node that fails for real, and keeps
#   OUTDIR/NAME.dump   the VM's crash dump (ERL_CRASH_DUMP=OUTDIR/NAME.dump)
#   OUTDIR/NAME.truth  key=value facts the program wrote from the live node
#   OUTDIR/.logs/NAME.log   the node's stdout/stderr
# Without NAMEs it makes all scenarios. A scenario whose dump and truth exist
# and are newer than its sources (and this script) is skipped, so a second
# run is fast; --force regenerates anyway.
#
# Checks per scenario: the node ends within its timeout, the dump exists and
# ends with "=end" (or "=abort:" for the truncated one), the truth exists,
# and the dump's slogan starts with the truth's slogan_prefix. A scenario that
# fails is retried once (memory-cap runs can, rarely, fail in a different
# allocator); if it fails again its dump is kept as NAME.dump.failed and the
# script exits 1 after the others have finished.
#
# Needs: bash, erl/erlc (OTP 25 tested), elixir (for elixir_*), coreutils
# (timeout). See samples/README.md.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/src
ALL="mailbox binleak atoms heap_oom ets_growth deadlock supervisor healthy truncated large port_limit elixir_proc_limit proc_leak ets_leak timer_leak memory_hog busy_port stuck_call selective_recv statem_deadlock bin_gc elixir_agent healthy_busy elixir_healthy backlog boot oom_cut halt cpu_overload dist_busy log_flood fd_leak_files fd_leak_sockets call_timeout pdict_leak elixir_log_flood monitor_leak elixir_async_stream postponed"
JOBS=${BEAMDUMP_GEN_JOBS:-3}
FORCE=0
DRY=0

usage() { echo "usage: $0 [--force] [--jobs N] OUTDIR [NAME...]   (names: $ALL)" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --list) echo "$ALL" | tr ' ' '\n'; exit 0 ;;
        --force) FORCE=1; shift ;;
        --dry-run) DRY=1; shift ;;
        --jobs) [ $# -ge 2 ] || usage; JOBS=$2; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "gen.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
OUT=$1; shift
NAMES=${*:-$ALL}
for n in $NAMES; do
    case " $ALL " in *" $n "*) ;; *) echo "gen.sh: unknown scenario '$n' (known: $ALL)" >&2; exit 2 ;; esac
done

mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
BUILD=$OUT/.build
LOGS=$OUT/.logs
mkdir -p "$BUILD" "$LOGS" || exit 1

# The environment must not change how the VM dumps (a CI box could set these).
unset ERL_CRASH_DUMP ERL_CRASH_DUMP_BYTES ERL_CRASH_DUMP_SECONDS ERL_CRASH_DUMP_NICE \
      ERL_FLAGS ERL_AFLAGS ERL_ZFLAGS ERL_LIBS ELIXIR_ERL_OPTIONS BEAMDUMP_TRUTH

for tool in erl erlc timeout; do
    command -v $tool >/dev/null 2>&1 || { echo "gen.sh: '$tool' not found (run scripts/deps.sh)" >&2; exit 1; }
done

# Common VM flags: a fixed scheduler count, so dumps look alike on any
# machine (and memory-capped nodes boot the same way on a 64-core box).
VMFLAGS="+S 2:2"
# All carriers from one super carrier of CAP MB, no malloc fallback: the VM
# itself runs out of memory and writes the dump (see bd_heap_oom.erl).
cap() { echo "+MMscs $1 +MMsco true +Musac false -bd_cap_mb $1"; }

# scenario NAME: sets RUN (command), TMO (seconds), ENDM (=end or =abort:),
# ENVX (extra env), DEPS (source files the result depends on).
scenario() {
    local n=$1 erl="erl $VMFLAGS -noshell -pa $BUILD"
    ENDM="=end"; ENVX=""; TMO=60
    DEPS="$HERE/gen.sh $SRC/bd_truth.erl"
    case $n in
        mailbox)    RUN="$erl -s bd_mailbox start" ;;
        binleak)    RUN="$erl $(cap 128) -s bd_binleak start" ;;
        atoms)      RUN="$erl +t 16384 -s bd_atoms start" ;;
        heap_oom)   RUN="$erl $(cap 96) -s bd_heap_oom start" ;;
        ets_growth) RUN="$erl $(cap 96) -s bd_ets_growth start" ;;
        deadlock)   RUN="$erl -s bd_deadlock start" ;;
        supervisor) RUN="$erl -s bd_supervisor start"
                    DEPS="$DEPS $SRC/flaky_app.app $SRC/flaky_app.erl $SRC/flaky_sup.erl $SRC/flaky_worker.erl" ;;
        healthy)    RUN="$erl -s bd_healthy start" ;;
        truncated)  RUN="$erl -s bd_healthy start truncated"
                    ENVX="ERL_CRASH_DUMP_BYTES=200000"; ENDM="=abort:"
                    DEPS="$DEPS $SRC/bd_healthy.erl" ;;
        large)      local ls=${BEAMDUMP_LARGE_SESSIONS:-100000}
                    RUN="$erl +P $((ls + 162144)) -bd_sessions $ls -s bd_large start"; TMO=120 ;;
        port_limit) RUN="$erl +Q 1024 -s bd_port_limit start" ;;
        backlog)    RUN="$erl -s bd_backlog start" ;;
        boot)       RUN="$erl -s bd_boot start" ;;
        fd_leak_files|fd_leak_sockets)
                    # the OS limit on open files the leak runs into (emfile)
                    RUN="sh -c 'ulimit -n 1024 && exec $erl -s bd_fd_leak start ${n#fd_leak_}'"
                    DEPS="$DEPS $SRC/bd_sup.erl $SRC/bd_fd_leak.erl" ;;
        oom_cut)    RUN="$erl $(cap 96) -s bd_heap_oom start oom_cut"
                    ENVX="ERL_CRASH_DUMP_BYTES=108000"; ENDM="=abort:"
                    DEPS="$DEPS $SRC/bd_heap_oom.erl" ;;
        proc_leak|ets_leak|timer_leak|memory_hog|busy_port|stuck_call|selective_recv|statem_deadlock|bin_gc|healthy_busy|halt|cpu_overload|dist_busy|log_flood|call_timeout|pdict_leak|monitor_leak|postponed)
                    RUN="$erl -s bd_$n start"; DEPS="$DEPS $SRC/bd_sup.erl" ;;
        elixir_proc_limit)
                    RUN="elixir --erl \"$VMFLAGS +P 1024\" -pa $BUILD $SRC/elixir_proc_limit.exs"
                    DEPS="$DEPS $SRC/elixir_proc_limit.exs" ;;
        elixir_*)   RUN="elixir --erl \"$VMFLAGS\" -pa $BUILD $SRC/$n.exs"
                    DEPS="$DEPS $SRC/$n.exs" ;;
    esac
    [ -f "$SRC/bd_$n.erl" ] && DEPS="$DEPS $SRC/bd_$n.erl"
    return 0
}

fresh() {   # fresh NAME: dump and truth exist and are newer than every dependency
    local n=$1 d
    [ "$FORCE" = 0 ] && [ -f "$OUT/$n.dump" ] && [ -f "$OUT/$n.truth" ] || return 1
    for d in $DEPS; do
        [ "$OUT/$n.dump" -nt "$d" ] && [ "$OUT/$n.truth" -nt "$d" ] || return 1
    done
}

compile() {  # recompile everything when any source is newer than the stamp
    local stamp=$BUILD/.stamp f
    if [ -f "$stamp" ]; then
        local stale=0
        for f in "$SRC"/*.erl "$SRC"/*.app; do [ "$f" -nt "$stamp" ] && stale=1; done
        [ $stale = 0 ] && return 0
    fi
    erlc -o "$BUILD" "$SRC"/*.erl || { echo "gen.sh: erlc failed" >&2; return 1; }
    cp "$SRC"/*.app "$BUILD"/ && touch "$stamp"
}

check() {    # check NAME: prints the reason and returns 1 if the result is bad
    local n=$1 dump=$OUT/$1.dump truth=$OUT/$1.truth last slogan prefix
    [ -s "$dump" ] || { echo "no crash dump written ($dump)"; return 1; }
    last=$(tail -n 1 "$dump")
    case $last in
        "$ENDM"*) ;;
        *) echo "dump does not end with '$ENDM' (last line: $(printf %.80s "$last"))"; return 1 ;;
    esac
    [ -s "$truth" ] || { echo "no truth file written ($truth)"; return 1; }
    grep -q '^expected_kind=' "$truth" || { echo "truth has no expected_kind"; return 1; }
    slogan=$(sed -n '3s/^Slogan: //p' "$dump")
    prefix=$(sed -n 's/^slogan_prefix=//p' "$truth")
    case $slogan in
        "$prefix"*) ;;
        *) echo "slogan '$(printf %.100s "$slogan")' does not start with '$prefix'"; return 1 ;;
    esac
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

run_one() {  # run_one NAME: one node, one dump; returns 0 if good
    local n=$1 try rc t0 t1 why log=$LOGS/$1.log
    for try in 1 2; do
        rm -f "$OUT/$n.dump" "$OUT/$n.truth" "$OUT/$n.truth.tmp" "$OUT/$n.dump.failed"
        t0=$(date +%s.%N)
        (cd "$OUT" && eval env ERL_CRASH_DUMP="$OUT/$n.dump" BEAMDUMP_TRUTH="$OUT/$n.truth" $ENVX \
             timeout -k 10 "$TMO" $RUN) >"$log" 2>&1 </dev/null
        rc=$?
        t1=$(date +%s.%N)
        if [ $rc = 124 ] || [ $rc = 137 ]; then
            why="node did not end within ${TMO}s (timeout exit $rc)"
        else
            why=$(check "$n") && why=""
        fi
        if [ -z "$why" ]; then
            echo "$n $(elapsed "$t0" "$t1")" > "$LOGS/$n.time"
            return 0
        fi
        echo "gen.sh: $n: try $try failed: $why (exit $rc; log: $log)" >&2
        [ -f "$OUT/$n.dump" ] && mv -f "$OUT/$n.dump" "$OUT/$n.dump.failed"
    done
    rm -f "$OUT/$n.truth"
    return 1
}

if [ $DRY = 1 ]; then
    for n in $NAMES; do
        scenario "$n"
        echo "$n: ERL_CRASH_DUMP=$OUT/$n.dump BEAMDUMP_TRUTH=$OUT/$n.truth $ENVX timeout -k 10 $TMO $RUN"
    done
    exit 0
fi
compile || exit 1
START=$(date +%s.%N)
rm -f "$LOGS"/*.status
running=0
for n in $NAMES; do
    scenario "$n"
    if fresh "$n"; then
        echo "skip  $n (up to date)"
        continue
    fi
    if [ "${n#elixir_}" != "$n" ] && ! command -v elixir >/dev/null 2>&1; then
        echo "gen.sh: $n: 'elixir' not found (run scripts/deps.sh)" >&2
        echo fail > "$LOGS/$n.status"; continue
    fi
    ( if run_one "$n"; then echo ok > "$LOGS/$n.status"; else echo fail > "$LOGS/$n.status"; fi ) &
    running=$((running + 1))
    if [ $running -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

fail=0
for n in $NAMES; do
    [ -f "$LOGS/$n.status" ] || continue
    if [ "$(cat "$LOGS/$n.status")" = ok ]; then
        printf 'ok    %-18s %5ss %10s bytes  %s\n' "$n" "$(cut -d' ' -f2 "$LOGS/$n.time")" \
            "$(stat -c %s "$OUT/$n.dump")" "$(sed -n 3p "$OUT/$n.dump" | cut -c1-90)"
    else
        printf 'FAIL  %-18s see %s\n' "$n" "$LOGS/$n.log"
        fail=1
    fi
done
echo "gen.sh: done in $(elapsed "$START" "$(date +%s.%N)")s"
exit $fail
