#!/bin/sh
# Make the seed corpora of tests/fuzz/corpus from the repo's real dumps (run from the
# repo root; the seeds are committed, this says how they were made):
#   dump/      each sample and fixture dump cut down to a few sections of every kind
#              (the first three processes with their heaps), at most 16 KiB
#   snapshot/  a few of those converted to .bdump, as files and as record lists
#   etf/       external terms written by erl (term_to_binary), one budget byte first
#   core/      real cores cut down by trimcore.py (a program killed in a system call,
#              a NULL dereference three frames deep), the crash guard's snapshots of
#              samples/nif (made by make check in BUILD_DIR/samples/nif-guard) as
#              trimmed NATIVE records and one as it is, and a core converted to .bdump
#              (the resolved table)
# usage: tests/fuzz/mkseeds.sh BUILD_DIR   (a build with beamdump, fuzz_snapshot_replay
#        and fuzz_core_replay; make check run once for the guard snapshots)
set -e
build=${1:?usage: mkseeds.sh BUILD_DIR}
out=tests/fuzz/corpus
mkdir -p $out/dump $out/snapshot $out/etf $out/core
sample() { # keep a few sections per tag, the heaps of the first three processes
	zstd -dcq "$1" | tr -d '\r' | awk '
	/^=/ { tag = $0; sub(/:.*/, "", tag); id = $0; sub(/^[^:]*:?/, "", id); n[tag]++;
	       if (tag == "=proc") { keep = n[tag] <= 3; if (keep) pid[id] = 1 }
	       else if (tag ~ /^=proc_/) keep = (id in pid)
	       else keep = n[tag] <= 2;
	       max = (tag ~ /^=proc_heap|^=literals|^=proc_stack/) ? 120 : 30; lines = 0 }
	{ if (keep && lines++ < max) print }' | head -c 16384
}
for f in samples/dumps/*.dump.zst tests/fixtures/*.dump.zst tests/fixtures/wild/*.dump.zst; do
	b=$(basename "$f" .dump.zst)
	sample "$f" > $out/dump/$b.dump
done
for b in healthy mailbox deadlock binleak supervisor terms_otp27 020_r13b04_eheap_labo \
	 092_24_kernelac-rabbit_co-backend-v2; do
	[ -f $out/dump/$b.dump ] || continue
	$build/beamdump convert $out/dump/$b.dump -o $out/snapshot/$b.bdump 2>/dev/null || true
	$build/tests/fuzz/fuzz_snapshot_replay --unframe $out/snapshot/$b.bdump $out/snapshot/$b.rec
	case $b in healthy|terms_otp27) ;; *) rm -f $out/snapshot/$b.bdump ;; esac
done
erl -noshell -eval '
	Terms = [ok, 42, -7, 1 bsl 70, -(1 bsl 200), 3.14, "a string", [1, [2, 3] | 4],
		  {a, b, {c}}, #{k => v, 1 => [x]}, maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
		  <<"binary">>, <<1:3>>, self(), make_ref(), fun lists:map/2, fun(X) -> X end,
		  {{{{{{deep}}}}}}, lists:seq(1, 300), list_to_atom([955, 97]), [], {}, <<>>,
		  {list_to_atom("$gen_call"), {self(), make_ref()}, {get, key}}, hd(erlang:ports())],
	lists:foldl(fun(T, N) ->
		ok = file:write_file(io_lib:format("~s/etf/term~2..0B.etf", ["'$out'", N]),
				     [255, term_to_binary(T)]), N + 1 end, 0, Terms),
	halt().'

# core/: cores land in the working directory (kernel.core_pattern "core")
tmp=$(mktemp -d)
(cd "$tmp" && ulimit -c unlimited &&
 { /usr/bin/sleep 30 & p=$!; sleep 0.5; kill -SEGV $p; wait $p; mv core sleep; } &&
 printf 'static int deep(volatile int *p, int n) { return n ? deep(p, n - 1) + 1 : *p; }\n%s\n' \
	'int main(int c, char **v) { (void)v; return deep(c > 5 ? (int *)v : 0, 3); }' > crash.c &&
 gcc -g -O1 -fno-omit-frame-pointer -o crash crash.c && { ./crash; mv core crash.core; }) || true
python3 tests/fuzz/trimcore.py "$tmp/sleep" $out/core/sleep.core
python3 tests/fuzz/trimcore.py "$tmp/crash.core" $out/core/crash.core
$build/beamdump convert "$tmp/sleep" -o "$tmp/sleep.bdump" 2>/dev/null
$build/tests/fuzz/fuzz_core_replay --unframe "$tmp/sleep.bdump" $out/core/table_sleep.nat
rm -rf "$tmp"
for k in null_deref stack_overflow thread driver; do
	$build/tests/fuzz/fuzz_core_replay --unframe $build/samples/nif-guard/$k/*.bdump \
		$out/core/guard_$k.nat
done
cp $build/samples/nif-guard/thread/*.bdump $out/core/guard_thread.bdump
