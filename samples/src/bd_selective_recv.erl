%% selective_recv: a gen_server blocked in a selective receive inside
%% handle_call while casts that never match pile up in its queue.
%%
%% payment_gw (a gen_server under payments_sup) handles {charge, Txn, Amount}
%% by asking card_network for an authorisation and then waiting, inside
%% handle_call, for the matching {card_network, Txn, Result} with a plain
%% receive and no time-out. card_network lost the request and never answers.
%% Meanwhile three audit producers cast {audit, Seq, Event} to payment_gw:
%% -bd_casts N in all (default 30 000). None of them matches the receive, so
%% the server does not handle any of them: it re-scans a growing queue that
%% nothing in it can match. The checkout process that made the charge waits in
%% gen_server:call. An operator sends SIGUSR1 once the producers are done.
-module(bd_selective_recv).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(PRODUCERS, 3).

start() ->
    N = casts(),
    Network = spawn(fun() -> register(card_network, self()), network() end),
    {ok, Sup} = supervisor:start_link({local, payments_sup}, bd_sup, {one_for_one,
                  [{payment_gw, {gen_server, start_link, [{local, payment_gw}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    Gw = whereis(payment_gw),
    Checkout = spawn(fun() -> register(checkout, self()),
                              gen_server:call(payment_gw, {charge, make_ref(), 4200}, infinity) end),
    bd_truth:wait_until("payment_gw in its receive", fun() ->
        bd_truth:waiting_in(Gw, {?MODULE, await_network, 1})
    end),
    Self = self(),
    Producers = [spawn(fun() -> produce(I, N div ?PRODUCERS), Self ! {done, self()} end)
                 || I <- lists:seq(1, ?PRODUCERS)],
    [receive {done, P} -> ok end || P <- Producers],
    %% every cast is in the queue (sent before done; counted once the server is back
    %% in its receive)
    bd_truth:wait_until("payment_gw back in its receive with every cast", fun() ->
        bd_truth:waiting_in(Gw, {?MODULE, await_network, 1}) andalso
            element(2, process_info(Gw, message_queue_len)) >= N div ?PRODUCERS * ?PRODUCERS
    end),
    {message_queue_len, Q} = process_info(Gw, message_queue_len),
    {current_function, Cur} = process_info(Gw, current_function),
    bd_truth:write(bd_truth:base(selective_recv, mailbox_overload) ++
                       [{secondary_kinds, "manual_dump,blocked_call"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, payment_gw},
                        {culprit_pid, Gw},
                        {waiting_in, mfa(Cur)},
                        {msg_tag, audit},
                        {msgq_len_min, Q},
                        {producer_pids, Producers},
                        {blocked_caller_name, checkout},
                        {blocked_caller_pid, Checkout},
                        {network_pid, Network}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

mfa({M, F, A}) -> atom_to_list(M) ++ ":" ++ atom_to_list(F) ++ "/" ++ integer_to_list(A).

casts() ->
    case init:get_argument(bd_casts) of
        {ok, [[N]]} -> list_to_integer(N);
        _ -> 30000
    end.

produce(_I, 0) -> ok;
produce(I, K) ->
    gen_server:cast(payment_gw, {audit, K, {login, I, K rem 97}}),
    produce(I, K - 1).

%% Takes requests and never answers them.
network() ->
    receive _ -> network() end.

init([]) -> {ok, #{charged => 0}}.

handle_call({charge, Txn, Amount}, _From, S = #{charged := C}) ->
    card_network ! {authorize, self(), Txn, Amount},
    Result = await_network(Txn),                 % blocks the whole server
    {reply, Result, S#{charged := C + Amount}}.

%% The bug: a selective receive with no time-out inside a callback.
await_network(Txn) ->
    receive
        {card_network, Txn, Result} -> Result
    end.

handle_cast({audit, _Seq, _Event}, S) -> {noreply, S}.

handle_info(_, S) -> {noreply, S}.
