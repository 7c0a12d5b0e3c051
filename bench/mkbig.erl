%% mkbig: build a large, real erl_crash.dump for benchmarking beamdump.
%%
%% Usage (run.sh does this; +P is needed for the big size):
%%   erlc -o OUT bench/mkbig.erl
%%   ERL_CRASH_DUMP=OUT/big.dump erl +P 1000000 -noshell -pa OUT -run mkbig main big
%% Sizes: big (1.36 GB, 400k processes), mid (~165 MB, 60k processes),
%% tiny (a few MB, for trying things out), and the scale series (bench/scale.sh):
%% x1 (~1.1 GB), x4 (~2.9 GB: 1.2 M processes, 5 M queued messages, ~1 GB of refc
%% binaries) and x16 (~10 GB, 5 M processes; run the VM with +hms 12 so that it fits
%% in ~12 GB of RAM).  Optional overrides after the size:
%%   procs=N msgs=N payload=BYTES state=WORDS bins=N binsize=BYTES
%% What the dump holds:
%%   - Procs idle worker processes, each holding a small state term on its heap;
%%   - one registered process `big_mbox` with Msgs messages {job, N, Bin}, where
%%     Bin is a Payload-byte heap binary (<= 64 bytes stays on the heap);
%%   - one registered process `big_bins` holding Bins refc binaries of BinSize bytes
%%     (200 x 100 kB unless overridden);
%%   - a named ETS table `big_ets` with 200 000 rows;
%% then erlang:halt("bench: big dump") writes the dump.
-module(mkbig).
-export([main/1, run/1]).

main(Args) ->
    try run(Args)
    catch C:R:St ->
        io:format(standard_error, "mkbig: ~p:~p~n~p~n", [C, R, St]),
        erlang:halt(1)
    end.

run([SizeStr | Overrides]) ->
    Cfg = lists:foldl(fun override/2, defaults(list_to_atom(SizeStr)), Overrides),
    #{procs := Procs, msgs := Msgs, payload := Payload, state := StateWords,
      bins := Bins, binsize := BinSize} = Cfg,
    T0 = erlang:monotonic_time(millisecond),
    ok = spawn_workers(Procs, StateWords),
    ok = fill_mailbox(Msgs, Payload),
    ok = hold_refc_binaries(Bins, BinSize),
    ok = fill_ets(200000),
    T1 = erlang:monotonic_time(millisecond),
    io:format(standard_error,
              "mkbig: ~p: ~b processes, ~b messages of ~b-byte binaries, "
              "set up in ~b ms; writing dump...~n",
              [Cfg, erlang:system_info(process_count), Msgs, Payload, T1 - T0]),
    erlang:halt("bench: big dump").

defaults(big)  -> bins(#{procs => 400000, msgs => 1000000, payload => 64, state => 64});
defaults(mid)  -> bins(#{procs => 60000,  msgs => 300000,  payload => 64, state => 24});
defaults(tiny) -> bins(#{procs => 2000,   msgs => 10000,   payload => 64, state => 16});
defaults(x1)   -> #{procs => 450000,  msgs => 1900000,  payload => 64, state => 2,
                    bins => 3800, binsize => 100000};
defaults(x4)   -> #{procs => 1200000, msgs => 5000000,  payload => 64, state => 2,
                    bins => 9000, binsize => 100000};
defaults(x16)  -> #{procs => 5000000, msgs => 12000000, payload => 64, state => 2,
                    bins => 20000, binsize => 100000}.

bins(Cfg) -> Cfg#{bins => 200, binsize => 100000}.

override(Arg, Cfg) ->
    [K, V] = string:split(Arg, "="),
    Key = list_to_existing_atom(K),
    true = maps:is_key(Key, Cfg),
    Cfg#{Key := list_to_integer(V)}.

%% Idle workers.  Each keeps {worker, I, List} live on its heap so the dump
%% has a stack frame and a =proc_heap section per process, as real nodes do.
spawn_workers(0, _Words) -> ok;
spawn_workers(I, Words) ->
    spawn(fun() -> worker({worker, I, lists:seq(I, I + Words - 1)}) end),
    spawn_workers(I - 1, Words).

worker(State) ->
    receive
        {get, From} -> From ! State, worker(State)
    end.

%% The mailbox process sends to itself: no scheduling per message, so 1M
%% messages take about a second.  It then waits for a message that never comes.
fill_mailbox(Msgs, Payload) ->
    Parent = self(),
    Pid = spawn(fun() ->
                    register(big_mbox, self()),
                    Pad = binary:copy(<<"x">>, max(0, Payload - 8)),
                    [self() ! {job, N, <<N:64, Pad/binary>>} || N <- lists:seq(1, Msgs)],
                    Parent ! {mbox_ready, self()},
                    receive never -> ok end
                end),
    receive {mbox_ready, Pid} -> ok end.

hold_refc_binaries(N, Size) ->
    Parent = self(),
    Pid = spawn(fun() ->
                    register(big_bins, self()),
                    Bins = [binary:copy(<<I:8>>, Size) || I <- lists:seq(1, N)],
                    Parent ! {bins_ready, self()},
                    receive never -> Bins end
                end),
    receive {bins_ready, Pid} -> ok end.

fill_ets(Rows) ->
    Parent = self(),
    Pid = spawn(fun() ->
                    T = ets:new(big_ets, [named_table, set, public]),
                    ets:insert(T, [{K, row, K * 2} || K <- lists:seq(1, Rows)]),
                    Parent ! {ets_ready, self()},
                    receive never -> ok end
                end),
    receive {ets_ready, Pid} -> ok end.
