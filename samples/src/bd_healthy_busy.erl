%% healthy_busy: a busy node that is fine, dumped on request.
%%
%% A deep supervision tree under shop_sup:
%%   shop_sup -> sessions_sup -> session_shard_sup_1..4 (simple_one_for_one)
%%                                 -> 800 session gen_servers each
%%            -> db_sup -> db_proxy + db_worker_1..8
%%            -> catalog (owns the named ETS table catalog, 20 000 rows)
%%            -> stats (a 50 ms tick) and session_registry
%% Every session keeps an idle timer that it cancels and restarts on each
%% request (3 200 timers, one per session), and owns nothing else. 200 ms after
%% the last round's reports are in, stats asks all sessions for a report at once,
%% so its queue jumps to a few thousand messages and drains again (a burst, not an
%% overload; rounds never overlap, so a slow machine does not pile them up). Eight load
%% drivers call random sessions without pause; each session call reads the
%% catalog and asks the db pool, whose workers call db_proxy: at any moment
%% calls are in flight two or three deep, a few messages are queued here and
%% there, schedulers are busy. Nothing is wrong. After 1.5 s of load an
%% operator sends SIGUSR1.
-module(bd_healthy_busy).
-behaviour(supervisor).
-export([start/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([start_session/1, start_worker/2]).

-define(SHARDS, 4).
-define(PER_SHARD, 800).
-define(DB_WORKERS, 8).
-define(DRIVERS, 8).

start() ->
    {ok, Sup} = supervisor:start_link({local, shop_sup}, ?MODULE, shop_sup),
    unlink(Sup),
    [begin
         Shard = shard_name(S),
         [{ok, _} = supervisor:start_child(Shard, [{S, I}]) || I <- lists:seq(1, ?PER_SHARD)]
     end || S <- lists:seq(1, ?SHARDS)],
    Drivers = [spawn(fun() -> rand:seed(exsss, {D, D, D}), drive() end) || D <- lists:seq(1, ?DRIVERS)],
    timer:sleep(1500),
    bd_truth:write(bd_truth:base(healthy_busy, manual_dump) ++
                       [{failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {end_marker, "=end"},
                        {supervisor_name, shop_sup},
                        {sessions, ?SHARDS * ?PER_SHARD},
                        {drivers, Drivers},
                        {timers_min, ?SHARDS * ?PER_SHARD},
                        {ets_name, catalog},
                        {process_count, erlang:system_info(process_count)}]),
    stats ! collect,                   % the dump catches a report burst in flight
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

shard_name(S) -> list_to_atom("session_shard_sup_" ++ integer_to_list(S)).

%% ---- supervisors ----
init(shop_sup) ->
    sup(one_for_one,
        [child(sessions_sup, supervisor, [{local, sessions_sup}, ?MODULE, sessions_sup]),
         child(db_sup, supervisor, [{local, db_sup}, ?MODULE, db_sup]),
         child(catalog, gen_server, [{local, catalog}, ?MODULE, catalog, []]),
         child(stats, gen_server, [{local, stats}, ?MODULE, stats, []]),
         child(session_registry, gen_server, [{local, session_registry}, ?MODULE, registry, []])]);
init(sessions_sup) ->
    sup(one_for_one, [child(shard_name(S), supervisor, [{local, shard_name(S)}, ?MODULE, shard])
                      || S <- lists:seq(1, ?SHARDS)]);
init(shard) ->
    {ok, {#{strategy => simple_one_for_one, intensity => 100, period => 1},
          [#{id => session, start => {?MODULE, start_session, []}, restart => transient}]}};
init(db_sup) ->
    sup(one_for_all,
        [child(db_proxy, gen_server, [{local, db_proxy}, ?MODULE, db_proxy, []]) |
         [#{id => {db_worker, W}, start => {?MODULE, start_worker, [W, db_name(W)]}}
          || W <- lists:seq(1, ?DB_WORKERS)]]);
%% ---- gen_servers ----
init(catalog) ->
    T = ets:new(catalog, [named_table, set, {read_concurrency, true}]),
    ets:insert(T, [{I, <<"item-", (integer_to_binary(I))/binary>>, I * 3} || I <- lists:seq(1, 20000)]),
    {ok, #{table => T}};
init(stats) ->
    erlang:send_after(50, self(), tick),
    erlang:send_after(200, self(), collect),
    {ok, #{ticks => 0, calls => 0, reports => 0, pending => 0}};
init(registry) ->
    {ok, #{}};
init(db_proxy) ->
    {ok, #{queries => 0}};
init({db_worker, W}) ->
    {ok, #{id => W, done => 0}};
init({session, Id}) ->
    gen_server:cast(session_registry, {hello, Id, self()}),
    {ok, #{id => Id, hits => 0, timer => idle_timer()}}.

sup(Strategy, Children) ->
    {ok, {#{strategy => Strategy, intensity => 10, period => 10}, Children}}.

child(Id, Mod, Args) -> #{id => Id, start => {Mod, start_link, Args}}.

start_session(Id) -> gen_server:start_link(?MODULE, {session, Id}, []).
start_worker(W, Name) -> gen_server:start_link({local, Name}, ?MODULE, {db_worker, W}, []).
db_name(W) -> list_to_atom("db_worker_" ++ integer_to_list(W)).

idle_timer() -> erlang:start_timer(60000, self(), idle).

handle_call({get, Key}, _From, S = #{id := _Id, hits := H, timer := T}) ->
    _ = erlang:cancel_timer(T),
    Item = ets:lookup(catalog, Key),
    Stock = gen_server:call(db_name(1 + Key rem ?DB_WORKERS), {stock, Key}, 5000),
    {reply, {Item, Stock}, S#{hits := H + 1, timer := idle_timer()}};
handle_call({stock, Key}, _From, S = #{done := D}) ->
    Q = gen_server:call(db_proxy, {query, Key}, 5000),
    {reply, Q, S#{done := D + 1}};
handle_call({query, Key}, _From, S = #{queries := Q}) ->
    {reply, erlang:phash2(Key, 100), S#{queries := Q + 1}}.

handle_cast({hello, Id, Pid}, Reg) -> {noreply, Reg#{Id => Pid}};
handle_cast(hit, S = #{calls := C}) -> {noreply, S#{calls := C + 1}};
handle_cast({report, _Id, _Hits}, S = #{reports := R, pending := P}) ->
    P =:= 1 andalso erlang:send_after(200, self(), collect),
    {noreply, S#{reports := R + 1, pending := max(P - 1, 0)}};
handle_cast(report_now, S = #{id := Id, hits := H}) ->
    gen_server:cast(stats, {report, Id, H}),
    {noreply, S}.

handle_info(tick, S = #{ticks := N}) ->
    erlang:send_after(50, self(), tick),
    {noreply, S#{ticks := N + 1}};
handle_info(collect, S = #{pending := Pending}) when Pending > 0 ->
    {noreply, S};                      % a round is in flight; its end starts the next
handle_info(collect, S) ->
    %% Ask every session for a report: thousands of casts arrive at once.
    Sessions = [P || Shard <- [shard_name(I) || I <- lists:seq(1, ?SHARDS)],
                     {_, P, _, _} <- supervisor:which_children(Shard)],
    [gen_server:cast(P, report_now) || P <- Sessions],
    Sessions =:= [] andalso erlang:send_after(200, self(), collect),
    {noreply, S#{pending := length(Sessions)}};
handle_info({timeout, _, idle}, S) ->
    {noreply, S#{timer := idle_timer()}}.

%% A load driver: calls random sessions, forever.
drive() ->
    S = rand:uniform(?SHARDS),
    Children = supervisor:which_children(shard_name(S)),
    drive(list_to_tuple([P || {_, P, _, _} <- Children])).

drive(Sessions) ->
    P = element(rand:uniform(tuple_size(Sessions)), Sessions),
    _ = gen_server:call(P, {get, rand:uniform(20000)}, 5000),
    gen_server:cast(stats, hit),
    drive(Sessions).
