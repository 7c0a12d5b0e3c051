%% ets_growth: a named ETS table that only grows, under a VM memory cap.
%%
%% cache_owner (a gen_server) creates the public table session_cache and two
%% small tables (config_cache, route_table). A request handler, session_writer,
%% inserts a new session per "request" and nothing ever deletes one (no
%% expiry: the bug). Objects are tuples of small terms and heap binaries (no
%% refc binaries), so the memory goes to ets_alloc. With +MMscs 96 +MMsco true
%% +Musac false the VM fails with
%% "ets_alloc: Cannot allocate 288 bytes of memory (of type "db_term")".
%% ETS objects are not written to the dump, only per-table summaries, so the
%% dump is small.
%%
%% Only ONE writer on purpose. With two processes inserting into the same
%% write_concurrency table, the scheduler that hits the allocation failure
%% still holds the table lock while it waits for the other schedulers to stop,
%% and the other writer's scheduler is blocked on that very lock. The VM then
%% waits 60 s before it gives up and writes the dump anyway (seen on OTP 25,
%% every run), which is too slow for CI.
-module(bd_ets_growth).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2]).

start() ->
    {ok, Owner} = gen_server:start({local, cache_owner}, ?MODULE, [], []),
    Writer = spawn(fun() -> register(session_writer, self()), handler(1, 0) end),
    Base = bd_truth:base(ets_growth, ets_growth) ++
        [{secondary_kinds, "allocator_oom"},
         {failure, memory_cap},
         {cap_mb, cap_mb()},
         {slogan_prefix, "ets_alloc: Cannot allocate"},
         {ets_name, session_cache},
         {ets_type, set},
         {ets_owner, Owner},
         {ets_owner_name, cache_owner},
         {ets_small_tables, [config_cache, route_table]},
         {writer_name, session_writer},
         {writer_pid, Writer}],
    bd_truth:write(Base),
    spawn(fun() -> process_flag(priority, high), sample(Base) end),
    ok.

cap_mb() ->
    case init:get_argument(bd_cap_mb) of {ok, [[V]]} -> V; _ -> "unknown" end.

%% One new session per request; never deleted (the bug: no expiry).
handler(I, N) ->
    Id = I * 100000000 + N,
    ets:insert(session_cache, {Id, {user, N rem 5000}, erlang:monotonic_time(),
                               [{role, reader}, {ip, {10, 0, I, N rem 256}}],
                               <<"token:", Id:64, 0:256>>}),   % 46 bytes: stays in ETS
    handler(I, N + 1).

%% Truth every 20 ms: size and memory only grow, so these are lower bounds.
sample(Base) ->
    bd_truth:write(Base ++ [{ets_size_min, ets:info(session_cache, size)},
                            {ets_memory_words_min, ets:info(session_cache, memory)}]),
    timer:sleep(20),
    sample(Base).

init([]) ->
    ets:new(session_cache, [named_table, public, set, {write_concurrency, true}]),
    ets:new(config_cache, [named_table, protected, set]),
    ets:insert(config_cache, [{K, V} || {K, V} <- [{max_sessions, 100000},
                                                   {ttl_s, 3600}, {region, "eu-west"}]]),
    ets:new(route_table, [named_table, protected, ordered_set]),
    ets:insert(route_table, [{P, node()} || P <- ["/", "/login", "/api", "/health"]]),
    {ok, #{}}.

handle_call(_Req, _From, S) -> {reply, ok, S}.
handle_cast(_Msg, S) -> {noreply, S}.
