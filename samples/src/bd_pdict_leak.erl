%% pdict_leak: a process dictionary used as a store that only grows.
%%
%% session_tracker (a gen_server under tracker_sup) remembers every session it
%% sees with put({session, Id}, ...) and never erases one: its state stays a
%% small map while its process dictionary holds -bd_sessions N entries (default
%% 150 000) and most of the node's memory. An operator sends SIGUSR1.
-module(bd_pdict_leak).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() ->
    N = case init:get_argument(bd_sessions) of
            {ok, [[V]]} -> list_to_integer(V);
            _ -> 150000
        end,
    {ok, Sup} = supervisor:start_link({local, tracker_sup}, bd_sup, {one_for_one,
                  [{session_tracker, {gen_server, start_link, [{local, session_tracker}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    T = whereis(session_tracker),
    [gen_server:cast(session_tracker, {seen, I}) || I <- lists:seq(1, N)],
    Entries = gen_server:call(session_tracker, entries, infinity),
    {memory, Mem} = process_info(T, memory),
    bd_truth:write(bd_truth:base(pdict_leak, memory_hog) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, session_tracker},
                        {culprit_pid, T},
                        {dictionary_entries, Entries},
                        {culprit_memory, Mem},
                        {node_memory_seen, erlang:memory(total)}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

init([]) -> {ok, #{seen => 0}}.

%% The bug: one dictionary entry per session, never erased.
handle_cast({seen, Id}, S = #{seen := N}) ->
    put({session, Id}, {Id, erlang:monotonic_time(), <<"Mozilla/5.0 (X11; Linux x86_64)">>}),
    {noreply, S#{seen := N + 1}}.

handle_call(entries, _From, S) -> {reply, length(get()), S}.

handle_info(_, S) -> {noreply, S}.
