%% proc_leak: a process leak far below the process limit, dumped on request.
%%
%% edge_sup (one_for_one) supervises conn_acceptor, a gen_server that is told
%% about each accepted connection ({accepted, Peer}) and starts a handler for it
%% with a plain spawn/3: no link, no monitor. Each conn_handler waits for data
%% from a peer that has already gone away, so it never exits. A load driver
%% announces -bd_conns N connections (default 12 000): the node keeps working
%% (far below the process limit), but the handlers pile up and nothing will
%% ever stop them. An operator then sends SIGUSR1.
-module(bd_proc_leak).
-behaviour(gen_server).
-export([start/0, conn_handler/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() ->
    N = conns(),
    {ok, Sup} = supervisor:start_link({local, edge_sup}, bd_sup, {one_for_one,
                  [{conn_acceptor, {gen_server, start_link, [{local, conn_acceptor}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    Acceptor = whereis(conn_acceptor),
    [gen_server:cast(conn_acceptor, {accepted, {{10, 0, I rem 250, I div 250 rem 250}, 40000 + I rem 20000}})
     || I <- lists:seq(1, N)],
    Accepted = gen_server:call(conn_acceptor, accepted, infinity),
    %% the handlers reach their receive (12 000 new processes are a run queue
    %% until then, longer on a slow box)
    bd_truth:wait_until("the handlers in their receive", fun bd_truth:run_queues_empty/0),
    bd_truth:write(bd_truth:base(proc_leak, process_leak) ++
                       [{secondary_kinds, "manual_dump,process_limit"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, conn_acceptor},
                        {culprit_pid, Acceptor},
                        {supervisor_name, edge_sup},
                        {leaked_initial_call, "bd_proc_leak:conn_handler/2"},
                        {leaked_count_min, Accepted},
                        {process_count, erlang:system_info(process_count)}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

conns() ->
    case init:get_argument(bd_conns) of
        {ok, [[N]]} -> list_to_integer(N);
        _ -> 12000
    end.

init([]) ->
    {ok, #{accepted => 0}}.

handle_cast({accepted, Peer}, S = #{accepted := N}) ->
    %% The bug: a plain spawn. Nobody links to or monitors the handler, and the
    %% handler has no idle timeout, so a peer that goes away leaves it behind.
    _ = spawn(?MODULE, conn_handler, [Peer, N + 1]),
    {noreply, S#{accepted := N + 1}}.

handle_call(accepted, _From, S = #{accepted := N}) -> {reply, N, S}.

handle_info(_, S) -> {noreply, S}.

%% One connection: waits for the peer's data, which never comes.
conn_handler(Peer, Id) ->
    receive
        {data, Bin} when is_binary(Bin) -> conn_handler(Peer, Id);
        close -> ok
    end.
