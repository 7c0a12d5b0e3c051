%% heap_oom: one process grows its heap until the VM runs out of memory.
%%
%% "hog" builds a report in memory: it keeps every row it has ever made in a
%% list that only grows. The node runs with +MMscs 96 +MMsco true +Musac false:
%% every carrier comes from one 96 MB super carrier and sys_alloc (malloc) is
%% not used as a fallback, so the VM itself fails with
%% "eheap_alloc: Cannot allocate N bytes of memory (of type "heap")" and
%% writes a dump. (A ulimit -v cap instead tends to fail in a random place or
%% end in the kernel OOM killer, which leaves no dump at all.)
%%
%% hog is State: Garbing in the dump. Its big heap is being collected on a
%% dirty CPU scheduler at that moment, and OTP 25 writes only the small new
%% heap of a garbing process, so the dump stays under 1 MB.
%% A separate sampler rewrites the truth every 20 ms with hog's last known
%% heap size (a lower bound for what the dump shows).
%%
%% start([oom_cut]): the same failure, run by gen.sh with ERL_CRASH_DUMP_BYTES so
%% small that the VM cuts the dump among the =proc sections, before hog's: only the
%% scheduler sections, written first, still say which process was garbing.
-module(bd_heap_oom).
-export([start/0, start/1]).

start() -> start([heap_oom]).

start([Mode]) ->
    Hog = spawn(fun() -> register(hog, self()), build_report([], 0) end),
    Extra = case Mode of
                oom_cut -> [{secondary_kinds, "truncated_dump"},
                            {dump_bytes_limit, os:getenv("ERL_CRASH_DUMP_BYTES", "unset")},
                            {end_marker, "=abort:CRASH DUMP SIZE LIMIT REACHED"}];
                heap_oom -> []
            end,
    Base = bd_truth:base(Mode, heap_oom) ++ Extra ++
        [{failure, memory_cap},
         {cap_mb, cap_mb()},
         {slogan_prefix, "eheap_alloc: Cannot allocate"},
         {culprit_name, hog},
         {culprit_pid, Hog}],
    bd_truth:write(Base),
    spawn(fun() -> process_flag(priority, high), sample(Hog, Base) end),
    ok.

cap_mb() ->
    case init:get_argument(bd_cap_mb) of {ok, [[V]]} -> V; _ -> "unknown" end.

build_report(Rows, N) ->
    Row = {row, N, [N, N * 2, N * 3], {N rem 7, N rem 13}},
    build_report([Row | Rows], N + 1).

sample(Hog, Base) ->
    case process_info(Hog, [total_heap_size, memory]) of
        [{total_heap_size, Words}, {memory, Bytes}] ->
            bd_truth:write(Base ++ [{culprit_heap_words_min, Words},
                                    {culprit_memory_min, Bytes}]);
        undefined -> ok
    end,
    timer:sleep(20),
    sample(Hog, Base).
