%% fd_leak: open files and sockets never closed, until the OS says emfile.
%%
%% start() (files): report_writer (a gen_server under reports_sup) opens a file
%% for each report with file:open/2 and forgets to close it. Each open file is a
%% file_io_server process linked to report_writer. The node runs under
%% `ulimit -n 1024`: after about a thousand reports file:open/2 returns
%% {error,emfile}; report_writer keeps running, every report fails. An operator
%% sends SIGUSR1.
%%
%% start(sockets): http_client (a gen_server under client_sup) connects to a
%% backend for each request with gen_tcp:connect/3 and never closes the socket;
%% the backend's acceptor hands each accepted socket to a handler. The client's
%% sockets are tcp_inet ports owned by http_client; connect then fails with
%% {error,emfile}. The port table's limit follows ulimit -n, so the dump shows
%% it (almost) full: port_limit, with http_client named as the owner.
-module(bd_fd_leak).
-behaviour(gen_server).
-export([start/0, start/1, acceptor/1, conn/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() -> start([files]).

start([Mode]) ->
    {module, _} = code:ensure_loaded(bd_truth), % loading code needs a descriptor too
    Name = case Mode of files -> report_writer; sockets -> http_client end,
    {ok, Sup} = supervisor:start_link({local, list_to_atom(atom_to_list(Name) ++ "_sup")}, bd_sup,
                  {one_for_one, [{Name, {gen_server, start_link, [{local, Name}, ?MODULE, Mode, []]}}]}),
    unlink(Sup),
    {Opened, Err} = gen_server:call(Name, leak, infinity),
    %% the failure this sample stages is emfile; anything else (a disk or
    %% directory problem) ends the node without a dump, and gen.sh retries
    Err =:= emfile orelse begin io:format("fd_leak: ~p, not emfile~n", [Err]), halt(3) end,
    W = whereis(Name),
    Ports = length(erlang:ports()),
    %% sockets fill the port table too (its limit follows ulimit -n): port_limit,
    %% naming the owner
    Kind = case Mode of files -> fd_leak; sockets -> port_limit end,
    bd_truth:write(bd_truth:base(list_to_atom("fd_leak_" ++ atom_to_list(Mode)), Kind) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, Name},
                        {culprit_pid, W},
                        {mode, Mode},
                        {opened, Opened},
                        {error, Err},
                        {port_count, Ports},
                        {fd_limit, 1024}]),
    _ = case Mode of                        % the open files stay open
            files -> file:del_dir_r(reports_dir());
            sockets -> ok
        end,
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

init(files) ->
    Dir = reports_dir(),
    ok = filelib:ensure_dir(Dir ++ "/x"),
    {ok, #{mode => files, dir => Dir, open => []}};
init(sockets) ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {reuseaddr, true}, {backlog, 1024}]),
    {ok, Port} = inet:port(L),
    A = spawn_link(?MODULE, acceptor, [L]),
    register(backend_acceptor, A),
    ok = gen_tcp:controlling_process(L, A),
    {ok, #{mode => sockets, port => Port, open => []}}.

%% The bug: every handle opened is kept in the state, none is ever closed.
handle_call(leak, _From, S) ->
    {N, Err, S1} = leak(S, 0),
    {reply, {N, Err}, S1}.

leak(S = #{open := Open}, N) ->
    case open_one(S, N) of
        {ok, H} -> leak(S#{open := [H | Open]}, N + 1);
        {error, Reason} ->
            %% Not part of the bug: the harness gives back the 4 newest handles so
            %% that the truth file can be written and the dump requested (both
            %% need a descriptor).
            %% The acceptor would take the freed descriptors for the connections
            %% still in its backlog: it stops accepting first.
            stop_accepting(S),
            {Back, Kept} = lists:split(4, Open),
            [close(S, H) || H <- Back],
            {N - 4, Reason, S#{open := Kept}}
    end.

close(#{mode := files}, F) -> file:close(F);
close(#{mode := sockets}, Sock) -> gen_tcp:close(Sock).

open_one(#{mode := files, dir := Dir}, N) ->
    case file:open(Dir ++ "/report-" ++ integer_to_list(N) ++ ".txt", [write]) of
        {ok, F} -> ok = io:format(F, "report ~p~n", [N]), {ok, F};
        E -> E
    end;
open_one(#{mode := sockets, port := Port}, _) ->
    gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}], 2000).

handle_cast(_, S) -> {noreply, S}.
handle_info(_, S) -> {noreply, S}.

stop_accepting(#{mode := files}) -> ok;
stop_accepting(#{mode := sockets}) ->
    backend_acceptor ! {stop, self()},
    receive stopped -> ok after 5000 -> ok end.

acceptor(L) ->
    receive
        {stop, From} ->
            From ! stopped,
            receive after infinity -> ok end
    after 0 ->
        case gen_tcp:accept(L, 100) of
            {ok, S} ->
                P = spawn(?MODULE, conn, []),
                ok = gen_tcp:controlling_process(S, P),
                P ! {socket, S},
                acceptor(L);
            {error, timeout} ->
                acceptor(L);
            {error, _} -> % emfile: no descriptor to load a module with either
                receive after 100 -> ok end,
                acceptor(L)
        end
    end.

conn() ->
    receive {socket, S} -> conn(S) end.

conn(S) ->
    case gen_tcp:recv(S, 0) of
        {ok, _} -> conn(S);
        {error, _} -> ok
    end.

%% one directory per node: gen.sh runs the files and sockets nodes side by side
%% in the same directory, and the other node's clean-up must not remove ours
reports_dir() ->
    "fd_leak_reports." ++ os:getpid().
