%% call_timeout: a slow server, and callers that give up before it answers.
%%
%% inventory (a gen_server under shop_sup) checks stock with an expensive
%% computation in handle_call (about 20 ms a request). order_acceptor starts a
%% handler per incoming order, 200 a second; each handler calls inventory with a
%% half-second time-out and crashes when it expires. The server cannot keep up:
%% its queue grows, and most of the calls in it come from handlers that have
%% already timed out and died: inventory still does the work for each of them,
%% which makes the next callers time out too. An operator sends SIGUSR1 once 200 calls are queued.
-module(bd_call_timeout).
-behaviour(gen_server).
-export([start/0, acceptor/1, order/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(RATE_MS, 5).        % one order every 5 ms
-define(CALL_TIMEOUT, 500).
-define(BACKLOG, 200).     % calls queued when the operator looks
-define(WORK, 400).         % thousands of steps per stock check (tens of ms here)
-define(WORK_MS, 20).       % and at least this long, however fast the CPU

start() ->
    logger:set_primary_config(level, none),  % the crash reports would flood stdout
    {ok, Sup} = supervisor:start_link({local, shop_sup}, bd_sup, {one_for_one,
                  [{inventory, {gen_server, start_link, [{local, inventory}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    Inv = whereis(inventory),
    A = spawn(?MODULE, acceptor, [0]),
    register(order_acceptor, A),
    %% Until the backlog is long: 200 calls take the server at least 4 s, so most
    %% of their callers (500 ms) have given up, however fast or starved the node
    %% (a fixed 4 s left 40 calls on a loaded single CPU: no finding).
    bd_truth:wait_until("inventory 200 calls behind", fun() ->
        element(2, process_info(Inv, message_queue_len)) >= ?BACKLOG
    end),
    {message_queue_len, Q} = process_info(Inv, message_queue_len),
    bd_truth:write(bd_truth:base(call_timeout, call_timeout) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, inventory},
                        {culprit_pid, Inv},
                        {queue_seen, Q},
                        {call_timeout_ms, ?CALL_TIMEOUT},
                        {caller_initial_call, "bd_call_timeout:order/1"},
                        {spawner_name, order_acceptor}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

acceptor(N) ->
    spawn(?MODULE, order, [N]),
    receive after ?RATE_MS -> ok end,
    acceptor(N + 1).

%% An order handler: a plain call with a time-out; the timeout exit kills it.
order(N) ->
    {ok, _} = gen_server:call(inventory, {reserve, N rem 500}, ?CALL_TIMEOUT),
    ok.

init([]) -> {ok, #{reserved => 0}}.

handle_call({reserve, Sku}, _From, S = #{reserved := R}) ->
    Stock = check_stock(Sku, ?WORK, erlang:monotonic_time(millisecond) + ?WORK_MS, 0),
    {reply, {ok, Stock}, S#{reserved := R + 1}}.

handle_cast(_, S) -> {noreply, S}.
handle_info(_, S) -> {noreply, S}.

%% The slow part: recomputes the stock from scratch on every request: a fixed number
%% of steps, and on for at least WORK_MS. The count alone took 9 ms here and would
%% take less than the 5 ms between orders on a fast CPU (the server keeps up: no
%% queue, no time-outs); the time alone lets a starved server (a loaded box, where
%% 20 ms of wall clock is little work) finish calls as fast as orders come.
check_stock(Sku, K, Until, Acc) when K > 0 ->
    check_stock(Sku, K - 1, Until, stock_step(Sku, 1000, Acc));
check_stock(Sku, 0, Until, Acc) ->
    case erlang:monotonic_time(millisecond) >= Until of
        true -> Acc;
        false -> check_stock(Sku, 0, Until, stock_step(Sku, 1000, Acc))
    end.

stock_step(_, 0, Acc) -> Acc;
stock_step(Sku, N, Acc) -> stock_step(Sku, N - 1, (Acc + erlang:phash2({Sku, N})) rem 1000).
