%% halt: an orderly erlang:halt/1 with a message on a healthy node.
%%
%% The node runs a small supervised application (a pool of workers with timers, a
%% registry server, some ETS) and is then stopped on purpose with
%% erlang:halt("..."), which writes a crash dump with that text as its slogan.
%% Nothing went wrong: analyze must say so (nothing above info).
-module(bd_halt).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(WORKERS, 200).

start() ->
    Children = [{{worker, I}, {gen_server, start_link, [?MODULE, I, []]}} || I <- lists:seq(1, ?WORKERS)],
    {ok, Sup} = supervisor:start_link({local, pool_sup}, bd_sup, {one_for_one, Children}),
    unlink(Sup),
    ets:new(sessions, [named_table, public, set]),
    [ets:insert(sessions, {I, <<"session">>}) || I <- lists:seq(1, 5000)],
    timer:sleep(300),
    Slogan = "Node stopped by the release handler: upgrade to 2.4.1",
    bd_truth:write(bd_truth:base(halt, manual_dump) ++
                       [{failure, halt},
                        {slogan_prefix, Slogan}]),
    erlang:halt(Slogan).

init(I) ->
    erlang:send_after(60000 + I, self(), tick),
    {ok, #{id => I, seen => 0}}.

handle_call(_, _, S) -> {reply, ok, S}.
handle_cast(_, S) -> {noreply, S}.
handle_info(tick, S = #{seen := N}) -> {noreply, S#{seen := N + 1}}.
