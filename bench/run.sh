#!/usr/bin/env bash
# Time beamdump, grep and crashdump_viewer on one big real crash dump (DESIGN.md §9).
# Usage: bench/run.sh [--size big|mid|tiny] [--cdv] [--cdv-timeout SECONDS]
#   grep, cat and beamdump rows are the best of REPEAT runs (default 3).
#   The dump is built once into bench/out/SIZE.dump and reused afterwards
#   (delete it to rebuild).  BEAMDUMP=path overrides build/beamdump.
#   --cdv also runs crashdump_viewer headless (slow: minutes, GBs of RAM).
#   --size mid also compares zstd -3 and zstd -19 --long=27 on the text.
# Prints a Markdown table on stdout (also saved as bench/out/SIZE.results.md).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
size=big cdv=0 cdv_timeout=600
while [ $# -gt 0 ]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --cdv) cdv=1; shift ;;
    --cdv-timeout) cdv_timeout=$2; shift 2 ;;
    *) echo "usage: $0 [--size big|mid|tiny] [--cdv] [--cdv-timeout S]" >&2; exit 2 ;;
  esac
done
beamdump=${BEAMDUMP:-$root/build/beamdump}
dump="$out/$size.dump"
mkdir -p "$out"

if [ -x /usr/bin/time ]; then
  have_time=1
else
  have_time=0
  echo "run.sh: /usr/bin/time missing (apt-get install time); using bash time, no RSS" >&2
fi

# measure LABEL CMD...: run CMD, set $secs (wall, from date), $rss_mb (or "?") and $rc.
measure() {
  local label=$1; shift
  local tf="$out/.time" log="$out/$size.$(echo "$label" | tr -c 'A-Za-z0-9_\n-' _).log"
  local t0 t1 wrap=()
  [ $have_time = 1 ] && wrap=(/usr/bin/time -o "$tf" -f '%e %M')
  rc=0
  t0=$(date +%s.%N)
  "${wrap[@]}" "$@" >"$log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  rss_mb="?"
  if [ $have_time = 1 ]; then
    read -r _ rss_kb < <(tail -n 1 "$tf")
    rss_mb=$((rss_kb / 1024))
  fi
  echo "run.sh: $label: ${secs} s, ${rss_mb} MB, rc=$rc (log: $log)" >&2
}

# best LABEL CMD...: measure $repeat times; keep the fastest wall time, the largest RSS.
repeat=${REPEAT:-3}
best() {
  local i b_secs="" b_rss=0
  for ((i = 0; i < repeat; i++)); do
    measure "$@"
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || return 0  # 1: beamdump found something
    if [ -z "$b_secs" ] || awk -v a="$secs" -v b="$b_secs" 'BEGIN { exit !(a < b) }'; then
      b_secs=$secs
    fi
    [ "$rss_mb" = "?" ] || [ "$rss_mb" -le "$b_rss" ] || b_rss=$rss_mb
  done
  secs=$b_secs
  [ "$rss_mb" = "?" ] || rss_mb=$b_rss
}

rows=()
load0=$(cut -d' ' -f1-3 /proc/loadavg)
bd_rev="beamdump not built"
row() { rows+=("$1|$2|$3|$4"); }  # command | seconds | RSS MB | note

# 1. The dump, built once.
erlc -o "$out" "$here/mkbig.erl" "$here/cdv_bench.erl"
if [ ! -s "$dump" ]; then
  free_gb=$(df -BG --output=avail "$out" | tail -n 1 | tr -dc 0-9)
  echo "run.sh: generating $dump (${free_gb} GB free)" >&2
  [ "$free_gb" -ge 5 ] || { echo "run.sh: need 5 GB free in $out" >&2; exit 1; }
  # halt/1 with a slogan exits 1 after writing the dump: not an error.
  (cd "$out" && measure "generate" env ERL_CRASH_DUMP="$dump" \
     erl +P 1000000 -noshell -pa "$out" -run mkbig main "$size" &&
   echo "$secs $rss_mb" >"$out/$size.gen.time")
  [ -s "$dump" ] || { echo "run.sh: no dump written; see $out/$size.generate.log" >&2; exit 1; }
fi
if [ -s "$out/$size.gen.time" ]; then
  read -r gsecs gmb < <(tail -n 1 "$out/$size.gen.time")
  row "generate dump (mkbig $size)" "$gsecs" "$gmb" "erl +P 1000000"
fi
dump_bytes=$(stat -c %s "$dump")
dump_mb=$(awk -v b="$dump_bytes" 'BEGIN { printf "%.0f", b / 1e6 }')

# 2. The I/O floor: grep, on a warm page cache.
grep -c '^=' "$dump" >/dev/null
best "grep" grep -c '^=' "$dump"
grep_secs=$secs
sections=$(cat "$out/$size.grep.log")
nprocs=$(grep -c '^=proc:' "$dump")
row "grep -c '^=' (warm)" "$secs" "$rss_mb" "$sections sections, $nprocs =proc"
best "cat" sh -c 'cat "$1" >/dev/null' cat "$dump"
row "cat > /dev/null (warm)" "$secs" "$rss_mb" "read floor"

# 3. beamdump, if built.  Commands not written yet (exit 2, "unknown command") are skipped.
bd() {
  local label="beamdump $*"
  label=${label//$out\//}
  best "bd-$1" "$beamdump" "$@"
  if [ "$rc" = 2 ] && grep -qi 'unknown command' "$out/$size.bd-$1.log"; then
    row "$label" "-" "-" "not implemented yet"
  elif [ "$rc" = 1 ]; then
    row "$label" "$secs" "$rss_mb" "exit 1 (findings)"
  elif [ "$rc" != 0 ]; then
    row "$label" "$secs" "$rss_mb" "exit $rc: $(tail -n 1 "$out/$size.bd-$1.log" | cut -c1-60)"
  else
    row "$label" "$secs" "$rss_mb" ""
  fi
}
if [ -x "$beamdump" ]; then
  # Run a private copy: the real one may be rebuilt by others mid-run.
  cp -p "$beamdump" "$out/beamdump.bin"
  beamdump="$out/beamdump.bin"
  bd_rev="repo at $(git -C "$root" log -1 --format='%h %cd' --date=format:'%H:%M' 2>/dev/null || echo '?'),"\
" binary built $(date -r "$out/beamdump.bin" +%H:%M)"
  bd info "$dump"
  bd top -n 20 --by mq "$dump"
  bd proc big_mbox "$dump"
  bd analyze "$dump"
  rm -f "$out/$size.bdump"
  bd convert "$dump" -o "$out/$size.bdump"
  if [ -s "$out/$size.bdump" ]; then
    row "(snapshot size)" "-" "-" "$(stat -c %s "$out/$size.bdump") bytes"
  fi
else
  echo "run.sh: $beamdump not built; skipping beamdump rows" >&2
fi

# 4. crashdump_viewer, headless; each step is one row (its RSS is the VM's peak so far).
if [ $cdv = 1 ]; then
  measure "cdv" erl -noshell -pa "$out" -s cdv_bench main -extra "$dump" --timeout "$cdv_timeout"
  while IFS=$'\t' read -r tag step ms mb; do
    [ "$tag" = cdv ] && [ "$step" != process_count ] || continue
    case $ms in
      '>'*) row "cdv $step" ">$(( ${ms#>} / 1000 ))" "$mb" "timed out" ;;
      *) row "cdv $step" "$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')" "$mb" "" ;;
    esac
  done < "$out/$size.cdv.log"
  row "cdv total (VM)" "$secs" "$rss_mb" "exit $rc"
fi

# 5. Compression of the text dump (mid size: the zstd -19 pass is slow).
if [ "$size" = mid ]; then
  for lvl in "-3" "-19 --long=27"; do
    zf="$out/$size.dump.zst"
    # shellcheck disable=SC2086
    measure "zstd$lvl" zstd -q -f $lvl "$dump" -o "$zf"
    zb=$(stat -c %s "$zf")
    row "zstd $lvl" "$secs" "$rss_mb" "$(awk -v d="$dump_bytes" -v z="$zb" -v s="$secs" \
      'BEGIN { printf "ratio %.1f, %.1f MB/s in", d / z, d / 1e6 / s }')"
    # shellcheck disable=SC2086
    measure "unzstd$lvl" zstd -q -d -f --long=27 "$zf" -o /dev/null
    row "zstd -d ($lvl)" "$secs" "$rss_mb" "$(awk -v d="$dump_bytes" -v s="$secs" \
      'BEGIN { printf "%.0f MB/s out", d / 1e6 / s }')"
    rm -f "$zf"
  done
fi

# 6. The table.
{
  echo "Dump: \`$size.dump\`, $dump_mb MB ($dump_bytes bytes), $nprocs processes."
  echo "Machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
       "$(awk '/MemTotal/ { printf "%.1f GB RAM", $2 / 1048576 }' /proc/meminfo);"\
       "$(date -u +%Y-%m-%d); OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().');"\
       "load average $load0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end; $bd_rev."
  echo
  echo "| command | wall s | peak RSS MB | × grep | note |"
  echo "|---|---:|---:|---:|---|"
  for r in "${rows[@]}"; do
    IFS='|' read -r cmd s mb note <<<"$r"
    ratio=$(awk -v s="${s#>}" -v g="$grep_secs" -v gt="${s:0:1}" 'BEGIN {
      if (s == "-" || g + 0 == 0) { print "-"; exit }
      printf (s / g < 10 ? "%s%.1f" : "%s%.0f"), (gt == ">" ? ">" : ""), s / g }')
    echo "| $cmd | $s | $mb | $ratio | $note |"
  done
} | tee "$out/$size.results.md"
