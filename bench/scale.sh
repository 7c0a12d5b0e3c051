#!/usr/bin/env bash
# The scale curve: beamdump against `grep -c '^='` (the I/O floor) on dumps of growing
# size made by bench/mkbig.erl, with peak memory, the model cache and compressed input.
#
# Usage: bench/scale.sh [-n RUNS] [--sizes "mid x1 x4"] [--compressed] [--zsizes "mid x1"] [--keep]
#   Each size's dump is built once into bench/out/SIZE.dump (under nice; x4 needs ~6 GB
#   of RAM for the VM and ~3 GB of disk, x16 ~20 GB and ~10 GB); a dump built by this
#   run is deleted at the end unless --keep (one that was there is kept). Runs
#   alternate (grep, beamdump, grep, ...) so the two see the same machine; the table
#   shows medians and the median of the per-pair ratios.
#   --compressed also times .zst and .gz inputs against zstd -dc / gzip -dc alone, for
#   the sizes in --zsizes (default "mid x1": gzip -1 of x16 alone takes minutes).
#   BEAMDUMP=path overrides build/beamdump. Prints Markdown (also bench/out/scale.md).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
runs=5 sizes="mid x1 x4" zsizes="mid x1" compressed=0 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift 2 ;;
	--sizes) sizes=$2; shift 2 ;;
	--compressed) compressed=1; shift ;;
	--zsizes) zsizes=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: $0 [-n RUNS] [--sizes \"mid x1 x4 x16\"] [--compressed] [--zsizes \"mid x1\"] [--keep]" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
bd_src=${BEAMDUMP:-$root/build/beamdump}
[ -x "$bd_src" ] || { echo "scale.sh: build first (make build)" >&2; exit 1; }
bd="$out/beamdump.scale"
cp -p "$bd_src" "$bd" # a private copy: the build may change during the run
cache="$out/cache"
export XDG_CACHE_HOME="$cache"
erlc -o "$out" "$here/mkbig.erl"

# run CMD...: wall seconds and peak RSS (kB) of one run, as "SECS KB". The output goes
# to a file, not /dev/null: GNU grep stops at the first match when it writes there.
run() {
	local tf="$out/.time"
	/usr/bin/time -o "$tf" -f '%e %M' "$@" >"$out/.stdout" 2>&1 || true
	tail -n 1 "$tf"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
load() { cut -d' ' -f1 /proc/loadavg; }

# pair LABEL REF-CMD -- CMD: alternate the two `runs` times after a warm-up of each;
# appends a table row: label, median s, ref median s, ratio (median of pairs), peak RSS.
pair() {
	local label=$1; shift
	local ref=() cmd=() sep=0
	for a in "$@"; do
		if [ "$a" = -- ]; then sep=1; continue; fi
		if [ $sep = 0 ]; then ref+=("$a"); else cmd+=("$a"); fi
	done
	run "${ref[@]}" >/dev/null
	run "${cmd[@]}" >/dev/null
	local l0 l1 i r c rs=() cs=() ratios=() rss=0
	l0=$(load)
	for ((i = 0; i < runs; i++)); do
		read -r r _ < <(run "${ref[@]}")
		read -r c kb < <(run "${cmd[@]}")
		rs+=("$r") cs+=("$c")
		ratios+=("$(awk -v a="$c" -v b="$r" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
		[ "$kb" -gt "$rss" ] && rss=$kb
	done
	l1=$(load)
	local rm cm qm
	rm=$(printf '%s\n' "${rs[@]}" | median)
	cm=$(printf '%s\n' "${cs[@]}" | median)
	qm=$(printf '%s\n' "${ratios[@]}" | median)
	rows+=("$label|$cm|$rm|$qm|$((rss / 1024))|$(awk -v k="$rss" -v d="$dump_bytes" 'BEGIN { printf "%.1f", 100 * k * 1024 / d }')|$l0–$l1")
	echo "scale.sh: $label: ${cm}s vs ${rm}s = ${qm}x, ${rss} kB (load $l0-$l1)" >&2
}

# once LABEL CMD: median wall of `runs` runs (no reference); peak RSS.
once() {
	local label=$1; shift
	local i s kb ss=() rss=0 l0
	l0=$(load)
	for ((i = 0; i < runs; i++)); do
		read -r s kb < <(run "$@")
		ss+=("$s")
		[ "$kb" -gt "$rss" ] && rss=$kb
	done
	local sm
	sm=$(printf '%s\n' "${ss[@]}" | median)
	rows+=("$label|$sm|-|-|$((rss / 1024))|$(awk -v k="$rss" -v d="$dump_bytes" 'BEGIN { printf "%.1f", 100 * k * 1024 / d }')|$l0–$(load)")
	echo "scale.sh: $label: ${sm}s, ${rss} kB" >&2
}

{
	echo "Machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
		"$(awk '/MemTotal/ { printf "%.1f GB RAM", $2 / 1048576 }' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC');"\
		"beamdump $(git -C "$root" log -1 --format=%h 2>/dev/null || echo '?'); $runs runs per row, alternated with the reference;"\
		"load = 1-minute load average before–after the row."
	echo
} >"$out/scale.md"

for size in $sizes; do
	dump="$out/$size.dump"
	made=0
	if [ ! -s "$dump" ]; then
		made=1
		echo "scale.sh: generating $dump ($(df -h --output=avail "$out" | tail -n 1) free)" >&2
		hms=""
		[ "$size" = x16 ] && hms="+hms 12" # 5 M processes: small heaps, or 25 GB of RAM
		# shellcheck disable=SC2086
		(cd "$out" && ERL_CRASH_DUMP="$dump" nice -n 19 erl +P 8000000 $hms -noshell -pa "$out" \
			-run mkbig main "$size" >"$out/$size.gen.log" 2>&1 || true)
		[ -s "$dump" ] || { echo "scale.sh: no dump: see $out/$size.gen.log" >&2; exit 1; }
	fi
	dump_bytes=$(stat -c %s "$dump")
	nprocs=$(grep -c '^=proc:' "$dump" || true)
	cat "$dump" >/dev/null # warm page cache
	rows=()
	once "grep -c '^='" grep -c '^=' "$dump"
	for c in info "top -n 20" analyze; do
		# shellcheck disable=SC2086
		pair "$c (first read)" grep -c '^=' "$dump" -- "$bd" $c --no-cache "$dump"
	done
	rm -rf "$cache"
	"$bd" info "$dump" >/dev/null 2>&1 || true     # leaves the cache
	"$bd" analyze "$dump" >/dev/null 2>&1 || true  # and the mailbox memo
	cache_bytes=$(du -cb "$cache"/beamdump/* 2>/dev/null | tail -n 1 | cut -f1)
	for c in info "top -n 20" analyze "proc big_mbox" "proc big_bins" "state <0.2000.0>"; do
		# shellcheck disable=SC2086
		once "$c (cache)" "$bd" $c "$dump"
	done
	if [ $compressed = 1 ] && [[ " $zsizes " == *" $size "* ]]; then
		nice -n 19 zstd -q -f -1 -T1 "$dump" -o "$dump.zst"
		nice -n 19 gzip -1 -c "$dump" >"$dump.gz"
		pair "info .zst (first read) vs zstd -dc" sh -c 'zstd -dc "$1" >/dev/null' sh "$dump.zst" -- \
			"$bd" info --no-cache "$dump.zst"
		pair "info .gz (first read) vs gzip -dc" sh -c 'gzip -dc "$1" >/dev/null' sh "$dump.gz" -- \
			"$bd" info --no-cache "$dump.gz"
		rm -f "$dump.zst" "$dump.gz"
	fi
	{
		echo "### $size: $(awk -v b="$dump_bytes" 'BEGIN { printf "%.2f GB", b / 1e9 }') ($dump_bytes bytes), $nprocs processes; cache $(awk -v b="${cache_bytes:-0}" 'BEGIN { printf "%.0f MB", b / 1e6 }')"
		echo
		echo "| command | median s | reference s | × reference | peak RSS MB | % of dump | load |"
		echo "|---|---:|---:|---:|---:|---:|---|"
		for r in "${rows[@]}"; do
			IFS='|' read -r a b c d e f g <<<"$r"
			echo "| $a | $b | $c | $d | $e | $f % | $g |"
		done
		echo
	} >>"$out/scale.md"
	[ $keep = 1 ] || [ $made = 0 ] || rm -f "$dump"
done
rm -rf "$cache" "$bd"
cat "$out/scale.md"
