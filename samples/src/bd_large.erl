%% large: a node with 100 000 extra processes, dumped on request.
%%
%% Models a connection-per-process server: 100 000 "session" processes idle
%% in receive, split over 4 registered session supervisors-to-be
%% (session_shard_1..4, which just own and link their sessions), plus a
%% registered session_registry. Then an operator sends SIGUSR1.
%% Used for performance tests of the parser (process table, ~100 k =proc,
%% =proc_stack and =proc_heap sections). The count comes from -bd_sessions N
%% (gen.sh passes $BEAMDUMP_LARGE_SESSIONS, default 100000), so a benchmark
%% can ask for a bigger node; gen.sh raises +P to match.
-module(bd_large).
-export([start/0]).

-define(SHARDS, 4).

start() ->
    Sessions = sessions(),
    Registry = spawn(fun() -> register(session_registry, self()), idle() end),
    Shards = [spawn_shard(I, Sessions div ?SHARDS) || I <- lists:seq(1, ?SHARDS)],
    [receive {ready, S} -> ok end || S <- Shards],
    %% every session has run once and waits in its receive (until then the new
    %% processes are a run queue of up to 100 000)
    bd_truth:wait_until("the sessions in their receive", fun bd_truth:run_queues_empty/0),
    bd_truth:write(bd_truth:base(large, manual_dump) ++
                       [{failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {sessions, Sessions div ?SHARDS * ?SHARDS},
                        {process_count, erlang:system_info(process_count)},
                        {process_count_min, Sessions div ?SHARDS * ?SHARDS},
                        {named_processes, [session_registry | names()]},
                        {session_registry_pid, Registry},
                        {shard_pids, Shards}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

names() -> [shard_name(I) || I <- lists:seq(1, ?SHARDS)].
shard_name(I) -> list_to_atom("session_shard_" ++ integer_to_list(I)).

sessions() ->
    case init:get_argument(bd_sessions) of
        {ok, [[N]]} -> list_to_integer(N);
        _ -> 100000
    end.

spawn_shard(I, PerShard) ->
    Parent = self(),
    spawn(fun() ->
                  register(shard_name(I), self()),
                  process_flag(trap_exit, true),
                  Sessions = [spawn_link(fun() -> session(I, N) end)
                              || N <- lists:seq(1, PerShard)],
                  Parent ! {ready, self()},
                  shard_loop(length(Sessions))
          end).

shard_loop(Count) ->
    receive {'EXIT', _, _} -> shard_loop(Count - 1) end.

%% Each session waits for data that never comes.
session(Shard, N) ->
    receive {data, Bin} -> session(Shard, N + byte_size(Bin)) end.

idle() -> receive stop -> ok end.
