%% deadlock: two gen_servers that call each other with an infinity timeout.
%%
%% srv_a handles {transfer, N} by calling srv_b ({reserve, N}); srv_b handles
%% {reserve, N} by calling srv_a back ({balance}). Each waits for the other
%% forever: a two-process call cycle. The client that started it (deadlock_client)
%% is blocked calling srv_a, and a late reporter (report_client) is blocked
%% calling srv_b: blocked_call chains that end in the cycle.
%%
%% Failure: nobody crashes, the node just stops answering. After 2 s an
%% "operator" sends SIGUSR1 to the node (os:cmd("kill -USR1 <os pid>")), which
%% makes the VM write a dump with the slogan "Received SIGUSR1".
-module(bd_deadlock).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2]).

start() ->
    {ok, A} = gen_server:start({local, srv_a}, ?MODULE, srv_a, []),
    {ok, B} = gen_server:start({local, srv_b}, ?MODULE, srv_b, []),
    Client = spawn(fun() ->
                           register(deadlock_client, self()),
                           gen_server:call(srv_a, {transfer, 100}, infinity)
                   end),
    %% the cycle is in place: each server waits in its call to the other
    bd_truth:wait_until("srv_a and srv_b in their calls", fun() ->
        bd_truth:waiting_in(A, {gen, do_call, 4}) andalso bd_truth:waiting_in(B, {gen, do_call, 4})
    end),
    Reporter = spawn(fun() ->
                             register(report_client, self()),
                             gen_server:call(srv_b, report, infinity)
                     end),
    %% the reporter's request sits in srv_b's queue (before the dump, not after)
    bd_truth:wait_until("report_client queued on srv_b", fun() ->
        bd_truth:waiting_in(Reporter, {gen, do_call, 4})
            andalso process_info(B, message_queue_len) =:= {message_queue_len, 1}
    end),
    bd_truth:write(bd_truth:base(deadlock, deadlock) ++
                       [{secondary_kinds, "blocked_call,manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {deadlock_a, A}, {deadlock_a_name, srv_a},
                        {deadlock_b, B}, {deadlock_b_name, srv_b},
                        {blocked_client, Client}, {blocked_client_name, deadlock_client},
                        {blocked_client_callee, srv_a},
                        {blocked_reporter, Reporter}, {blocked_reporter_name, report_client},
                        {blocked_reporter_callee, srv_b}]),
    spawn(fun() ->
                  timer:sleep(2000),
                  os:cmd("kill -USR1 " ++ os:getpid())
          end),
    ok.

init(Name) -> {ok, #{name => Name, balance => 1000}}.

handle_call({transfer, N}, _From, S = #{name := srv_a}) ->
    ok = gen_server:call(srv_b, {reserve, N}, infinity),    % waits for srv_b
    {reply, ok, S};
handle_call({reserve, _N}, _From, S = #{name := srv_b}) ->
    _ = gen_server:call(srv_a, balance, infinity),           % waits for srv_a: cycle
    {reply, ok, S};
handle_call(balance, _From, S = #{balance := Bal}) ->
    {reply, Bal, S};
handle_call(report, _From, S) ->
    {reply, S, S}.

handle_cast(_Msg, S) -> {noreply, S}.
