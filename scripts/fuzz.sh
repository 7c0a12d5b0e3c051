#!/bin/sh
# Build the libFuzzer targets of tests/fuzz (clang, ASan+UBSan) and run each one.
# usage: scripts/fuzz.sh [-t SECONDS | -n RUNS] [-d BUILD_DIR] [TARGET...]
#   TARGET: dump, snapshot, etf, core (default: all four, one after the other)
#   -t: seconds per target (default 60); -n: executions per target instead
# The working corpus of each target is BUILD_DIR/corpus/TARGET (kept between runs,
# started from tests/fuzz/corpus and tests/fuzz/crashers); a crash, leak or timeout
# leaves its input in BUILD_DIR/artifacts/TARGET/ and fails the run (exit 1): copy it
# to tests/fuzz/crashers/TARGET/ with the fix. Long campaigns: run under nice -n 19.
set -e
secs=60 runs= dir=build-fuzz
while getopts t:n:d: o; do
	case $o in
	t) secs=$OPTARG ;;
	n) runs=$OPTARG ;;
	d) dir=$OPTARG ;;
	*) sed -n '2,10p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
targets=${*:-dump snapshot etf core}
cc=$(command -v clang-14 || command -v clang || true)
[ -n "$cc" ] || { echo "fuzz: clang not found (scripts/deps.sh installs clang-14)" >&2; exit 1; }
if [ ! -f "$dir/CMakeCache.txt" ]; then
	CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBD_FUZZ=ON -DBD_TESTS=OFF >/dev/null
fi
cmake --build "$dir" -j"${JOBS:-2}" --target $(for t in $targets; do printf 'fuzz_%s ' $t; done) >"$dir/build.log" 2>&1 ||
	{ cat "$dir/build.log"; exit 1; }
status=0
for t in $targets; do
	# core: seeds are trimmed cores and guard records of up to ~70 KiB
	# dump: seeds are cut to 16 KiB (mkseeds.sh); twice that leaves room to grow while
	# keeping each run short (a run costs about its size)
	case $t in etf) max=4096 ;; core) max=131072 ;; dump) max=32768 ;; *) max=65536 ;; esac
	# -timeout is wall-clock: a loaded shared machine makes 1 s of work take 10
	work=$dir/corpus/$t art=$dir/artifacts/$t
	mkdir -p "$work" "$art"
	find tests/fuzz/corpus/$t tests/fuzz/crashers/$t -type f ! -name README.md \
		-exec cp -n {} "$work"/ \; 2>/dev/null || true
	limit="-max_total_time=$secs"
	[ -n "$runs" ] && limit="-runs=$runs"
	start=$(date +%s)
	if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	   "$dir/tests/fuzz/fuzz_$t" $limit -max_len=$max -timeout=60 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" "$work" >"$dir/fuzz_$t.log" 2>&1; then
		result=ok
	else
		result=FAILED status=1
		grep -E "ERROR|SUMMARY|artifact" "$dir/fuzz_$t.log" | head -5 >&2
	fi
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz_$t.log")
	echo "fuzz: $t: $result, ${n:-?} executions in $(( $(date +%s) - start )) s," \
	     "corpus $(ls "$work" | wc -l) inputs (log: $dir/fuzz_$t.log)"
done
exit $status
