%% timer_leak: one process owning tens of thousands of pending timers.
%%
%% session_tracker (a gen_server under tracker_sup) keeps an idle timeout per
%% session: every {touch, Session} starts erlang:send_after(30 min, self(),
%% {expire, Session, Seq}) and is meant to cancel the previous timer, but the
%% cancel is missing, so every touch leaves one more timer behind. 2 000
%% sessions touched -bd_touches N times in all (default 30 000): N pending
%% timers owned by one process, far more than the sessions it tracks. The node
%% keeps working; an operator then sends SIGUSR1 (a dump lists every pending
%% BIF timer as =timer:<receiver>).
-module(bd_timer_leak).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(SESSIONS, 2000).

start() ->
    N = touches(),
    {ok, Sup} = supervisor:start_link({local, tracker_sup}, bd_sup, {one_for_one,
                  [{session_tracker, {gen_server, start_link, [{local, session_tracker}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    Tracker = whereis(session_tracker),
    [gen_server:cast(session_tracker, {touch, I rem ?SESSIONS}) || I <- lists:seq(1, N)],
    {Touches, Sessions} = gen_server:call(session_tracker, stats, infinity),
    bd_truth:write(bd_truth:base(timer_leak, timer_leak) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, session_tracker},
                        {culprit_pid, Tracker},
                        {timer_message_tag, expire},
                        {timers_min, Touches},
                        {sessions, Sessions},
                        {timeout_ms, 1800000}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

touches() ->
    case init:get_argument(bd_touches) of
        {ok, [[N]]} -> list_to_integer(N);
        _ -> 30000
    end.

init([]) -> {ok, #{sessions => #{}, touches => 0}}.

handle_cast({touch, Session}, S = #{sessions := Ss, touches := T}) ->
    %% The bug: the previous timer (maps:get(Session, Ss)) is never cancelled.
    Ref = erlang:send_after(1800000, self(), {expire, Session, T}),
    {noreply, S#{sessions := Ss#{Session => Ref}, touches := T + 1}}.

handle_call(stats, _From, S = #{sessions := Ss, touches := T}) ->
    {reply, {T, map_size(Ss)}, S}.

handle_info({expire, Session, _Seq}, S = #{sessions := Ss}) ->
    {noreply, S#{sessions := maps:remove(Session, Ss)}}.
