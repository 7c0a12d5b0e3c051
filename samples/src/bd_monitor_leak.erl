%% monitor_leak: a server that monitors its callers on every request and never
%% demonitors.
%%
%% lease_server (a gen_server under lease_sup) hands out leases; on each
%% acquire it calls erlang:monitor(process, Caller) "to release the lease if the
%% caller dies", but never calls erlang:demonitor/2 when the lease is returned.
%% 40 long-lived clients acquire and release leases in a loop: the server holds
%% 120 000 monitors on 40 processes, each a few words, and every one of them is
%% scanned when a client exits. An operator sends SIGUSR1.
-module(bd_monitor_leak).
-behaviour(gen_server).
-export([start/0, client/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(CLIENTS, 40).
-define(ROUNDS, 3000).

start() ->
    {ok, Sup} = supervisor:start_link({local, lease_sup}, bd_sup, {one_for_one,
                  [{lease_server, {gen_server, start_link, [{local, lease_server}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    S = whereis(lease_server),
    Self = self(),
    Cs = [spawn(fun() -> client(?ROUNDS), Self ! {done, self()}, receive stop -> ok end end)
          || _ <- lists:seq(1, ?CLIENTS)],
    [receive {done, C} -> ok end || C <- Cs],
    {monitors, Ms} = process_info(S, monitors),
    bd_truth:write(bd_truth:base(monitor_leak, monitor_leak) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, lease_server},
                        {culprit_pid, S},
                        {monitors, length(Ms)},
                        {clients, ?CLIENTS}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

client(0) -> ok;
client(N) ->
    {ok, L} = gen_server:call(lease_server, acquire),
    ok = gen_server:call(lease_server, {release, L}),
    client(N - 1).

init([]) -> {ok, #{next => 0, leases => #{}}}.

%% The bug: a monitor per acquire, never removed on release.
handle_call(acquire, {Pid, _}, S = #{next := N, leases := Ls}) ->
    _Ref = erlang:monitor(process, Pid),
    {reply, {ok, N}, S#{next := N + 1, leases := Ls#{N => Pid}}};
handle_call({release, L}, _From, S = #{leases := Ls}) ->
    {reply, ok, S#{leases := maps:remove(L, Ls)}}.

handle_cast(_, S) -> {noreply, S}.
handle_info({'DOWN', _, process, _, _}, S) -> {noreply, S}.
