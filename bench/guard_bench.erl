%% guard_bench: a node-busy workload for bench/guard.sh — the same work with and
%% without the crash guard preloaded: message passing in a ring of processes, process
%% spawning, ETS writes and reads, list sorting and binary building, and many GCs.
%% Prints "ms=<wall milliseconds> cpu_ms=<CPU time of the VM> rss_kb=<VmRSS>" and halts:
%% CPU time is what the guard could add; wall time also counts other load on the machine.
-module(guard_bench).
-export([main/1]).

main([Rounds]) ->
    N = list_to_integer(Rounds),
    T0 = erlang:monotonic_time(millisecond),
    {C0, _} = statistics(runtime),
    [work() || _ <- lists:seq(1, N)],
    {C1, _} = statistics(runtime),
    T1 = erlang:monotonic_time(millisecond),
    Rss = rss_kb(),
    io:format("ms=~b cpu_ms=~b rss_kb=~b~n", [T1 - T0, C1 - C0, Rss]),
    erlang:halt(0).

work() ->
    ring(2000, 100),
    spawn_many(20000),
    ets_work(100000),
    _ = lists:sort([rand:uniform(1000000) || _ <- lists:seq(1, 200000)]),
    _ = iolist_to_binary([integer_to_binary(I) || I <- lists:seq(1, 200000)]),
    ok.

ring(Procs, Laps) ->
    Self = self(),
    First = lists:foldl(fun(_, Next) -> spawn(fun() -> relay(Next) end) end, Self,
                        lists:seq(1, Procs)),
    [begin First ! token, receive token -> ok end end || _ <- lists:seq(1, Laps)],
    First ! stop.

relay(Next) ->
    receive
        stop -> Next ! stop;
        token -> Next ! token, relay(Next)
    end.

spawn_many(N) ->
    Self = self(),
    [spawn(fun() -> Self ! done end) || _ <- lists:seq(1, N)],
    [receive done -> ok end || _ <- lists:seq(1, N)],
    ok.

ets_work(N) ->
    T = ets:new(t, [set, public]),
    [ets:insert(T, {I, I * 2}) || I <- lists:seq(1, N)],
    [ets:lookup(T, I) || I <- lists:seq(1, N)],
    ets:delete(T).

rss_kb() ->
    {ok, S} = file:read_file("/proc/self/status"),
    [_, Rest] = binary:split(S, <<"VmRSS:">>),
    [Num | _] = string:lexemes(binary_to_list(Rest), " \t\n"),
    list_to_integer(Num).
