%% ci_snap: runs one EUnit suite on a fresh node and ends the node with a crash
%% dump at one of the three snapshot points of `beamdump ci`:
%%
%%   baseline  app started, suite run once (warm-up: modules loaded),
%%             node quiet again
%%   current   the same, then the suite run N more times; dumped right away
%%   final     the same as current, then the suite's end: the node is left
%%             alone until the pool is empty (its workers idle out after 2 s) and
%%             every process is garbage collected; what is still there was left
%%             behind
%%
%% Tests follow the EUnit conventions (every exported Name_test/0, each in its
%% own process, a crash is a failure); the runner is here so that the samples
%% need nothing beyond erlang-base.
%%
%% A crash dump ends the node that writes it, so each point is its own node
%% running the same deterministic steps (samples/ci/gen.sh runs them). Usage:
%%   erl -noshell -s ci_snap start SUITE POINT N
%% with $BEAMDUMP_TRUTH naming a key=value file of what the live node saw.
-module(ci_snap).
-export([start/1, assert_equal/2, run_no/0]).

start([Suite, Point, NAtom]) ->
    N = list_to_integer(atom_to_list(NAtom)),
    ok = ci_app:start(),
    run(Suite, 1),
    settle(),
    Iter = case Point of
               baseline -> 0;
               _ -> run(Suite, N), N
           end,
    PoolAtCurrent = ci_app:pool_size(),
    case Point of
        final -> settle();
        _ -> ok
    end,
    truth([{suite, Suite}, {point, Point}, {iterations, Iter},
           {pool_size_after_run, PoolAtCurrent},
           {pool_size, ci_app:pool_size()},
           {process_count, erlang:system_info(process_count)},
           {atom_count, erlang:system_info(atom_count)},
           {ets_count, length(ets:all())},
           {audit_log_pid, pid_to_list(whereis(audit_log))},
           {audit_log_msgq, element(2, process_info(whereis(audit_log), message_queue_len))},
           {binary_bytes, erlang:memory(binary)}]),
    erlang:halt(lists:flatten(io_lib:format("beamdump ci snapshot: ~s ~s iterations=~b",
                                            [Suite, Point, Iter]))).

run(_Suite, 0) -> ok;
run(Suite, K) ->
    Tests = [F || {F, 0} <- Suite:module_info(exports),
                  lists:suffix("_test", atom_to_list(F))],
    [run_test(Suite, T) || T <- Tests],
    run(Suite, K - 1).

assert_equal(X, X) -> ok;
assert_equal(Expect, Got) -> error({assert_equal, Expect, Got}).

%% One test in its own process, as EUnit does; a crash fails the whole run.
run_test(Suite, T) ->
    {Pid, MRef} = spawn_monitor(fun() -> Suite:T() end),
    receive
        {'DOWN', MRef, process, Pid, normal} -> ok;
        {'DOWN', MRef, process, Pid, Why} ->
            io:format(standard_error, "ci_snap: ~s:~s failed: ~p~n", [Suite, T, Why]),
            erlang:halt(1)
    after 10000 ->
        io:format(standard_error, "ci_snap: ~s:~s timed out~n", [Suite, T]),
        erlang:halt(1)
    end.

%% Let idle pool workers exit, then collect every heap so what stays is retained.
%% Waits for the pool to be empty (a fixed sleep just past the idle time-out left
%% workers behind on a loaded box); gives up after 30 s and ends the node without a
%% dump, so gen.sh tries again.
settle() ->
    settle(3000),
    [erlang:garbage_collect(P) || P <- processes()],
    timer:sleep(50).

settle(0) ->
    io:format(standard_error, "ci_snap: the pool did not empty~n", []),
    erlang:halt(1);
settle(K) ->
    case ci_app:pool_size() of
        0 -> ok;
        _ -> timer:sleep(10), settle(K - 1)
    end.

truth(KVs) ->
    case os:getenv("BEAMDUMP_TRUTH") of
        false -> ok;
        Path ->
            Lines = [io_lib:format("~s=~s~n", [K, str(V)]) || {K, V} <- KVs],
            ok = file:write_file(Path ++ ".tmp", Lines),
            ok = file:rename(Path ++ ".tmp", Path)
    end.

str(V) when is_atom(V) -> atom_to_list(V);
str(V) when is_integer(V) -> integer_to_list(V);
str(V) -> V.

%% The run number on this node: 1, 2, ... The same runs give the same names in every
%% node (baseline, current and final are separate nodes), so what the warm-up run makes
%% (user atoms) matches across snapshots. Tests run one after the other.
run_no() ->
    C = case persistent_term:get(ci_run_counter, undefined) of
            undefined ->
                R = counters:new(1, []),
                persistent_term:put(ci_run_counter, R),
                R;
            R -> R
        end,
    counters:add(C, 1, 1),
    counters:get(C, 1).
