%% The child that keeps crashing: a "database connection" that starts fine,
%% then fails to connect 100 ms later with {badmatch,{error,econnrefused}}.
-module(flaky_worker).
-behaviour(gen_server).
-export([start_link/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).

start_link() -> gen_server:start_link({local, db_conn}, ?MODULE, [], []).

init([]) ->
    erlang:send_after(100, self(), connect),
    {ok, #{host => "db.internal", port => 5432}}.

handle_info(connect, S = #{host := H, port := P}) ->
    ok = connect(H, P),
    {noreply, S}.

connect(_Host, _Port) -> {error, econnrefused}.

handle_call(_Req, _From, S) -> {reply, ok, S}.
handle_cast(_Msg, S) -> {noreply, S}.
