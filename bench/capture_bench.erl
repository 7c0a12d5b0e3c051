%% Control node of bench/capture_bench.sh: measures the target node's own request
%% latency (a client/server loop inside it, tests/capture/bd_capture_node.erl "load"
%% mode) without a capture and while beamdump captures it back to back.
%%
%%   erl -sname ctl -setcookie C -noshell -pa DIR -run capture_bench main \
%%       Target Beamdump CookieFile OutDir WindowSeconds
%%
%% Extra capture options come in $BD_CAPTURE_EXTRA (erl -run cannot pass "--x").
%%
%% Prints one line per phase: phase, samples, p50, p99, max (microseconds), and the
%% capture times. The windows alternate (baseline, capture, baseline, capture ...) so
%% machine noise hits both alike.
-module(capture_bench).
-export([main/1]).

main([Target0, Beamdump, CookieFile, OutDir, WindowS]) ->
    Extra = os:getenv("BD_CAPTURE_EXTRA", ""),
    Target = list_to_atom(Target0),
    Window = list_to_integer(WindowS) * 1000,
    wait_up(Target, 120),
    timer:sleep(3000), %% warm-up
    Rounds = 3,
    Results = [round(Target, Beamdump, CookieFile, OutDir, Window, Extra, R)
               || R <- lists:seq(1, Rounds)],
    {BaseL, CapL, Times} = lists:foldl(
        fun({B, C, T}, {Bs, Cs, Ts}) -> {Bs ++ B, Cs ++ C, Ts ++ T} end, {[], [], []}, Results),
    report("baseline", BaseL),
    report("capture", CapL),
    Sorted = lists:sort(Times),
    io:format("captures ~p: min ~.2f s, median ~.2f s, max ~.2f s~n",
              [length(Times), hd(Sorted) / 1.0e6,
               lists:nth((length(Sorted) + 1) div 2, Sorted) / 1.0e6, lists:last(Sorted) / 1.0e6]),
    halt(0).

wait_up(_, 0) -> io:format("target not up~n"), halt(1);
wait_up(T, N) ->
    case rpc:call(T, erlang, whereis, [bd_load_server]) of
        P when is_pid(P) -> ok;
        _ -> timer:sleep(500), wait_up(T, N - 1)
    end.

%% One baseline window, then one window of back-to-back captures.
round(Target, Beamdump, CookieFile, OutDir, Window, Extra, R) ->
    ok = rpc:call(Target, bd_capture_node, latency_reset, []),
    timer:sleep(Window),
    Base = rpc:call(Target, ets, lookup, [bd_latency, lat]),
    ok = rpc:call(Target, bd_capture_node, latency_reset, []),
    T0 = erlang:monotonic_time(millisecond),
    Times = captures(Target, Beamdump, CookieFile, OutDir, Extra, R, T0 + Window, []),
    Cap = rpc:call(Target, ets, lookup, [bd_latency, lat]),
    {[V || {lat, V} <- Base], [V || {lat, V} <- Cap], Times}.

captures(Target, Beamdump, CookieFile, OutDir, Extra, R, Until, Acc) ->
    case erlang:monotonic_time(millisecond) >= Until andalso Acc =/= [] of
        true -> lists:reverse(Acc);
        false ->
            File = filename:join(OutDir, io_lib:format("capture-~b.bdump", [R])),
            Cmd = lists:flatten(io_lib:format("~s capture -q --node ~s --cookie-file ~s -o ~s ~s; echo \"rc=$?\"",
                                              [Beamdump, Target, CookieFile, File, Extra])),
            T0 = erlang:monotonic_time(microsecond),
            Out = os:cmd(Cmd),
            T1 = erlang:monotonic_time(microsecond),
            case string:find(Out, "rc=0") of
                nomatch -> io:format("capture failed: ~s~n", [Out]), halt(1);
                _ -> ok
            end,
            captures(Target, Beamdump, CookieFile, OutDir, Extra, R, Until, [T1 - T0 | Acc])
    end.

report(Phase, L0) ->
    L = lists:sort(L0),
    N = length(L),
    P = fun(Q) -> lists:nth(max(1, min(N, (N * Q) div 1000)), L) end,
    io:format("~s: ~b samples, p50 ~b us, p99 ~b us, p99.9 ~b us, max ~b us~n",
              [Phase, N, P(500), P(990), P(999), lists:last(L)]).
