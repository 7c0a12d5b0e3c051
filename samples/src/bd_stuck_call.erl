%% stuck_call: a gen_server stuck inside handle_call, callers waiting on it.
%%
%% ledger (a gen_server under ledger_sup) answers {post, Entry} by asking a
%% database over TCP and waiting for the answer with gen_tcp:recv(Sock, 0)
%% and no time-out, inside handle_call. The database (ledger_db, on loopback)
%% accepted the connection but never answers, so the first call never returns.
%% Three clients (billing_1..3) call ledger with an infinity time-out: one is
%% being handled, two are queued behind it. The mailbox stays tiny; nothing is
%% overloaded, the server is just stuck. An operator sends SIGUSR1.
-module(bd_stuck_call).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() ->
    Self = self(),
    Db = spawn(fun() -> db(Self) end),
    Port = receive {listening, P} -> P end,
    {ok, Sup} = supervisor:start_link({local, ledger_sup}, bd_sup, {one_for_one,
                  [{ledger, {gen_server, start_link, [{local, ledger}, ?MODULE, Port, []]}}]}),
    unlink(Sup),
    Ledger = whereis(ledger),
    Names = [billing_1, billing_2, billing_3],
    %% billing_1 first (the call being handled), then the two queued behind it
    Callers = [begin
                   C = spawn(fun() -> register(N, self()),
                                      gen_server:call(ledger, {post, {N, 100}}, infinity) end),
                   bd_truth:wait_until("a caller waiting on ledger", fun() ->
                       bd_truth:waiting_in(C, {gen, do_call, 4}) andalso
                           in_recv(Ledger) andalso
                           process_info(Ledger, message_queue_len) =:= {message_queue_len, I - 1}
                   end),
                   C
               end || {I, N} <- lists:enumerate(Names)],
    {current_function, Cur} = process_info(Ledger, current_function),
    {message_queue_len, Q} = process_info(Ledger, message_queue_len),
    bd_truth:write(bd_truth:base(stuck_call, blocked_call) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, ledger},
                        {culprit_pid, Ledger},
                        {stuck_in, mfa(Cur)},
                        {stuck_callback, "bd_stuck_call:handle_call/3"},
                        {blocked_callers, Callers},
                        {blocked_caller_names, Names},
                        {waiters, length(Callers)},
                        {message_queue_len_seen, Q},
                        {db_pid, Db}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

%% ledger waits in the recv of its first call (not in gen_server's loop)
in_recv(Ledger) ->
    case process_info(Ledger, [status, current_function]) of
        [{status, waiting}, {current_function, {M, _, _}}] -> M =/= gen_server;
        _ -> false
    end.

mfa({M, F, A}) -> atom_to_list(M) ++ ":" ++ atom_to_list(F) ++ "/" ++ integer_to_list(A).

%% A database that accepts and never answers.
db(Parent) ->
    register(ledger_db, self()),
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(L),
    Parent ! {listening, Port},
    {ok, S} = gen_tcp:accept(L),
    receive stop -> gen_tcp:close(S) end.

init(Port) ->
    {ok, Sock} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}, {packet, 4}]),
    {ok, #{db => Sock, posted => 0}}.

handle_call({post, Entry}, _From, S = #{db := Sock, posted := N}) ->
    ok = gen_tcp:send(Sock, term_to_binary({insert, Entry})),
    {ok, Reply} = gen_tcp:recv(Sock, 0),          % no time-out: waits for ever
    {reply, binary_to_term(Reply), S#{posted := N + 1}}.

handle_cast(_, S) -> {noreply, S}.

handle_info(_, S) -> {noreply, S}.
