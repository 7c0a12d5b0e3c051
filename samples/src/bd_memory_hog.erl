%% memory_hog: one gen_server holds most of the node's memory, no crash yet.
%%
%% price_cache (a gen_server under cache_sup) keeps every price row it is sent
%% in a map and never evicts: -bd_rows N rows (default 100 000) of a 30-field
%% tuple each, about 27 MB of live heap, while the rest of the node uses a few
%% tens of MB. Nothing has failed (there is no memory cap); an operator, seeing
%% the node grow, sends SIGUSR1.
-module(bd_memory_hog).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() ->
    N = rows(),
    {ok, Sup} = supervisor:start_link({local, cache_sup}, bd_sup, {one_for_one,
                  [{price_cache, {gen_server, start_link, [{local, price_cache}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    Cache = whereis(price_cache),
    feed(N),
    Rows = gen_server:call(price_cache, size, infinity),
    {memory, Mem} = process_info(Cache, memory),
    {total_heap_size, Heap} = process_info(Cache, total_heap_size),
    bd_truth:write(bd_truth:base(memory_hog, memory_hog) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, price_cache},
                        {culprit_pid, Cache},
                        {rows, Rows},
                        {culprit_memory_min, Mem},
                        {culprit_heap_words_min, Heap},
                        {node_memory_seen, erlang:memory(total)}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

rows() ->
    case init:get_argument(bd_rows) of
        {ok, [[N]]} -> list_to_integer(N);
        _ -> 100000
    end.

feed(N) ->
    [gen_server:cast(price_cache, {row, I, list_to_tuple([I + K || K <- lists:seq(1, 30)])})
     || I <- lists:seq(1, N)],
    ok.

init([]) -> {ok, #{rows => #{}}}.

%% The bug: rows are added and never evicted.
handle_cast({row, Id, Row}, S = #{rows := Rows}) ->
    {noreply, S#{rows := Rows#{Id => Row}}}.

handle_call(size, _From, S = #{rows := Rows}) -> {reply, map_size(Rows), S}.

handle_info(_, S) -> {noreply, S}.
