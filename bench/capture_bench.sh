#!/usr/bin/env bash
# Capture benchmark (issue 6): time of `beamdump capture` on a node with N processes,
# and that node's own request latency (p99) while it is captured back to back versus
# without captures. The node runs tests/capture/bd_capture_node.erl in "load" mode: a
# client process calls a server process every millisecond and records each round trip.
#
# Usage: bench/capture_bench.sh [--procs N] [--window S] [--extra "capture options"]
#   BEAMDUMP=path overrides build/beamdump. Loopback only. Prints the figures and
#   appends nothing anywhere: copy them into bench/CAPTURE.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
procs=100000 window=10 extra=""
while [ $# -gt 0 ]; do
  case $1 in
    --procs) procs=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --extra) extra=$2; shift 2 ;;
    *) echo "usage: $0 [--procs N] [--window S] [--extra OPTS]" >&2; exit 2 ;;
  esac
done
beamdump=${BEAMDUMP:-$root/build/beamdump}
[ -x "$beamdump" ] || { echo "capture_bench: $beamdump missing (make build)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/bdcapbench.XXXXXX")
node="bdbench$$@localhost"
ctl="bdbenchctl$$@localhost"
cookie=$(head -c 18 /dev/urandom | base64 | tr -dc A-Za-z | head -c 20)
printf '%s\n' "$cookie" > "$work/cookie"
chmod 600 "$work/cookie"

erlc -o "$work" "$root/tests/capture/bd_capture_node.erl" "$here/capture_bench.erl"
erl -sname "$node" -setcookie "$cookie" -noshell +S 2:2 +P 1048576 -pa "$work" \
    -run bd_capture_node main load "$work/ready" "$procs" > "$work/node.log" 2>&1 &
npid=$!
trap 'kill -9 $npid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do [ -f "$work/ready" ] && break; sleep 0.2; done
[ -f "$work/ready" ] || { echo "node not ready" >&2; cat "$work/node.log" >&2; exit 1; }

echo "# capture bench: $(nproc) CPUs, $(uname -sr), OTP $(erl -noshell -eval 'io:format("~s",[erlang:system_info(otp_release)]),halt().'), $procs idle processes + culprits, window ${window}s x 3, options: ${extra:-default}"
# One capture on its own first, with its summary.
"$beamdump" capture --node "$node" --cookie-file "$work/cookie" -o "$work/one.bdump" $extra 2>&1 | sed 's/^/  /'
ls -l "$work/one.bdump" | awk '{print "  snapshot bytes: " $5}'
BD_CAPTURE_EXTRA="$extra" erl -sname "$ctl" -setcookie "$cookie" -noshell -pa "$work" -run capture_bench main \
    "$node" "$beamdump" "$work/cookie" "$work" "$window"
