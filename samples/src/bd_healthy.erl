%% healthy / truncated: a calm node dumped on request.
%%
%% A small supervision tree (demo_sup) with a key-value store (kv_store, which
%% owns the ETS table kv_table with 20 entries), a ticker that sends itself a
%% message every 100 ms, and 3 idle pool workers. Nothing is wrong. After 1 s
%% an "operator" sends SIGUSR1, so the slogan is "Received SIGUSR1".
%%
%% start() -> the healthy scenario (expected_kind=manual_dump).
%% start([truncated]) -> the same node, run by gen.sh with
%%   ERL_CRASH_DUMP_BYTES=200000, so the VM cuts the dump at 200 000 bytes and
%%   ends it with "=abort:CRASH DUMP SIZE LIMIT REACHED".
-module(bd_healthy).
-behaviour(supervisor).
-export([start/0, start/1, init/1, kv_init/0, ticker_init/0, worker_init/1]).

start() -> start([healthy]).

start([Mode]) ->
    {ok, Sup} = supervisor:start_link({local, demo_sup}, ?MODULE, []),
    unlink(Sup),
    timer:sleep(300),                               % let everything settle
    Kind = case Mode of healthy -> manual_dump; truncated -> truncated_dump end,
    Extra = case Mode of
                truncated -> [{secondary_kinds, "manual_dump"},
                              {dump_bytes_limit, os:getenv("ERL_CRASH_DUMP_BYTES", "unset")},
                              {end_marker, "=abort:CRASH DUMP SIZE LIMIT REACHED"}];
                healthy -> [{end_marker, "=end"}]
            end,
    bd_truth:write(bd_truth:base(Mode, Kind) ++ Extra ++
                       [{failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {supervisor_name, demo_sup},
                        {supervisor_pid, Sup},
                        {named_processes, [kv_store, ticker, pool_worker_1,
                                           pool_worker_2, pool_worker_3]},
                        {kv_store_pid, whereis(kv_store)},
                        {ets_name, kv_table},
                        {ets_owner, whereis(kv_store)},
                        {ets_size, ets:info(kv_table, size)},
                        {process_count, erlang:system_info(process_count)}]),
    spawn(fun() -> timer:sleep(700), os:cmd("kill -USR1 " ++ os:getpid()) end),
    ok.

init([]) ->
    Workers = [#{id => {pool_worker, I}, start => {?MODULE, worker_init, [I]}}
               || I <- [1, 2, 3]],
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10},
          [#{id => kv_store, start => {?MODULE, kv_init, []}},
           #{id => ticker, start => {?MODULE, ticker_init, []}} | Workers]}}.

kv_init() ->
    {ok, proc_lib:spawn_link(fun() ->
        register(kv_store, self()),
        T = ets:new(kv_table, [named_table, protected, set]),
        ets:insert(T, [{I, {item, I, <<"value-", (integer_to_binary(I))/binary>>}}
                       || I <- lists:seq(1, 20)]),
        idle_loop()
    end)}.

ticker_init() ->
    {ok, proc_lib:spawn_link(fun() ->
        register(ticker, self()),
        tick(0)
    end)}.

tick(N) ->
    erlang:send_after(100, self(), tick),
    receive tick -> tick(N + 1) end.

worker_init(I) ->
    {ok, proc_lib:spawn_link(fun() ->
        register(list_to_atom("pool_worker_" ++ integer_to_list(I)), self()),
        idle_loop()
    end)}.

idle_loop() ->
    receive {From, ping} -> From ! pong, idle_loop() end.
