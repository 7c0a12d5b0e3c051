%% supervisor: an OTP application started permanent whose top supervisor
%% exceeds its restart intensity.
%%
%% flaky_app -> flaky_sup (one_for_one, 3 restarts in 10 s) -> db_conn
%% (flaky_worker), which crashes 100 ms after each start. After the 4th crash
%% flaky_sup shuts down, the permanent application terminates, and the
%% application_controller takes the node down:
%% "Kernel pid terminated (application_controller)
%%  ({application_terminated,flaky_app,shutdown})".
%% The truth is written by flaky_sup:init/1 (see flaky_sup.erl).
-module(bd_supervisor).
-export([start/0]).

start() ->
    ok = application:start(flaky_app, permanent).
