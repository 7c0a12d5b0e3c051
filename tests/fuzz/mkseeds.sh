#!/bin/sh
# Make the seed corpora of tests/fuzz/corpus from the repo's real dumps (run from the
# repo root; the seeds are committed, this says how they were made):
#   dump/      each sample and fixture dump cut down to a few sections of every kind
#              (the first three processes with their heaps), at most 16 KiB
#   snapshot/  a few of those converted to .bdump, as files and as record lists
#   etf/       external terms written by erl (term_to_binary), one budget byte first
# usage: tests/fuzz/mkseeds.sh BUILD_DIR   (a build with beamdump and fuzz_snapshot_replay)
set -e
build=${1:?usage: mkseeds.sh BUILD_DIR}
out=tests/fuzz/corpus
mkdir -p $out/dump $out/snapshot $out/etf
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
