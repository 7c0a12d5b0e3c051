%% ci_app: the small "system under test" of the beamdump ci samples.
%%
%% Three long-lived registered processes, as a real application would have:
%%   cache_server  owns ETS tables that clients ask for (new_table/1, drop_table/1)
%%   audit_log     counts {log, Event} messages (audit/1); anything else stays in
%%                 its mailbox, as in any selective receive
%%   conn_pool     hands out worker processes on demand (checkout/0, checkin/1);
%%                 a worker idle for ?IDLE_MS exits, so the pool grows under load
%%                 and shrinks back when the load is gone (transient, not a leak)
%% and session processes (session_start/1) that live until told to stop.
%%
%% Both suites (ci_leaky_tests, ci_fixed_tests) test this same code; only the
%% tests differ. Everything is started with proc_lib, so processes carry the
%% $initial_call and $ancestors that beamdump matches across snapshots.
-module(ci_app).
-export([start/0, new_table/1, drop_table/1, audit/1, audit_count/0,
         checkout/0, checkin/1, pool_size/0,
         session_start/1, session_ping/1, session_stop/1]).
-export([cache_init/0, audit_init/0, pool_init/0, pool_worker/1, session_init/1]).

-define(IDLE_MS, 2000).   % current is dumped well within it, even on a slow box

start() ->
    [start_registered(Name, F) || {Name, F} <- [{cache_server, cache_init},
                                                 {audit_log, audit_init},
                                                 {conn_pool, pool_init}]],
    ok.

start_registered(Name, F) ->
    Pid = proc_lib:spawn(?MODULE, F, []),
    true = register(Name, Pid),
    Pid.

call(Name, Req) ->
    Ref = make_ref(),
    Name ! {call, self(), Ref, Req},
    receive {Ref, Reply} -> Reply after 5000 -> error({timeout, Name, Req}) end.

%% ---- cache_server ----
new_table(Name) -> call(cache_server, {new_table, Name}).
drop_table(Tid) -> call(cache_server, {drop_table, Tid}).

cache_init() -> cache_loop().
cache_loop() ->
    receive
        {call, From, Ref, {new_table, Name}} ->
            From ! {Ref, ets:new(Name, [set, public])}, cache_loop();
        {call, From, Ref, {drop_table, Tid}} ->
            From ! {Ref, ets:delete(Tid)}, cache_loop()
    end.

%% ---- audit_log ----
audit(Event) -> audit_log ! {log, Event}, ok.
audit_count() -> call(audit_log, count).

audit_init() -> audit_loop(0).
audit_loop(N) ->
    receive
        {log, _Event} -> audit_loop(N + 1);
        {call, From, Ref, count} -> From ! {Ref, N}, audit_loop(N)
    end.

%% ---- conn_pool ----
checkout() -> call(conn_pool, checkout).
checkin(W) -> conn_pool ! {checkin, W}, ok.
pool_size() -> call(conn_pool, size).

pool_init() -> process_flag(trap_exit, true), pool_loop([], 0).
pool_loop(Idle, Size) ->
    receive
        {call, From, Ref, checkout} ->
            case Idle of
                [W | Rest] -> From ! {Ref, W}, pool_loop(Rest, Size);
                [] ->
                    W = proc_lib:spawn_link(?MODULE, pool_worker, [self()]),
                    From ! {Ref, W}, pool_loop(Idle, Size + 1)
            end;
        {checkin, W} -> W ! idle, pool_loop([W | Idle], Size);
        {call, From, Ref, size} -> From ! {Ref, Size}, pool_loop(Idle, Size);
        {'EXIT', W, _} -> pool_loop(lists:delete(W, Idle), Size - 1)
    end.

%% A worker holds a little state (a connection buffer); idle for ?IDLE_MS -> exits.
pool_worker(_Pool) -> pool_worker_loop(binary:copy(<<0>>, 4096)).
pool_worker_loop(Buf) ->
    receive
        idle ->
            receive
                {work, From, Ref} -> From ! {Ref, byte_size(Buf)}, pool_worker_loop(Buf)
            after ?IDLE_MS -> exit(normal)
            end;
        {work, From, Ref} -> From ! {Ref, byte_size(Buf)}, pool_worker_loop(Buf)
    end.

%% ---- sessions ----
session_start(User) -> proc_lib:spawn(?MODULE, session_init, [User]).
session_ping(S) ->
    Ref = make_ref(), S ! {ping, self(), Ref},
    receive {Ref, pong} -> pong after 5000 -> timeout end.
session_stop(S) ->
    MRef = monitor(process, S),
    S ! stop,
    receive {'DOWN', MRef, process, S, _} -> ok after 5000 -> error(session_stop) end.

session_init(User) -> session_loop(User, [binary:copy(<<"s">>, 256)]).
session_loop(User, State) ->
    receive
        {ping, From, Ref} -> From ! {Ref, pong}, session_loop(User, State);
        stop -> ok
    end.
