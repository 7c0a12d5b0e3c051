%% log_flood: a flood of log events overloads the logger.
%%
%% order_router (a gen_server under router_sup) handles each order in a worker;
%% a bad deploy left a debug report on every step at level error. 200 workers log
%% large reports as fast as they can: the default handler (logger_std_h, writing
%% to standard_io) falls behind, its overload protection switches callers to
%% synchronous logging, and every worker spends its time waiting for the logger
%% instead of routing orders. An operator sends SIGUSR1.
-module(bd_log_flood).
-behaviour(gen_server).
-export([start/0, worker/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(WORKERS, 200).

start() ->
    {ok, Sup} = supervisor:start_link({local, router_sup}, bd_sup, {one_for_one,
                  [{order_router, {gen_server, start_link, [{local, order_router}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    R = whereis(order_router),
    gen_server:call(order_router, {start, ?WORKERS}),
    timer:sleep(1500),
    H = whereis(logger_std_h_default),
    {message_queue_len, Q} = process_info(H, message_queue_len),
    bd_truth:write(bd_truth:base(log_flood, logger_overload) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, order_router},
                        {culprit_pid, R},
                        {handler_name, logger_std_h_default},
                        {handler_pid, H},
                        {handler_queue_seen, Q},
                        {workers, ?WORKERS},
                        {worker_initial_call, "bd_log_flood:worker/1"}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

init([]) -> {ok, #{}}.

handle_call({start, N}, _From, S) ->
    [spawn_link(?MODULE, worker, [I]) || I <- lists:seq(1, N)],
    {reply, ok, S}.

handle_cast(_, S) -> {noreply, S}.
handle_info(_, S) -> {noreply, S}.

worker(I) -> worker(I, 0).

worker(I, N) ->
    Order = #{id => {I, N}, lines => lists:seq(1, 40), customer => <<"customer-", (integer_to_binary(I))/binary>>},
    logger:error("routing step ~p for order ~p: ~p", [N, I, Order]),
    worker(I, N + 1).
