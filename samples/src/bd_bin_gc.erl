%% bin_gc: refc binaries that are garbage but never collected.
%%
%% frame_relay (a gen_server under relay_sup) receives 1 MB frames, looks at
%% their header and drops them: its state is a counter. It was started with
%% "tuned" GC options (spawn_opt min_heap_size 1 M words, min_bin_vheap_size
%% 64 M words = 512 MB, fullsweep_after 65535): its heap never fills up and its
%% binary virtual heap never overflows, so no garbage collection runs, and every
%% frame it ever saw stays allocated although nothing references it any more.
%% -bd_frames N frames (default 120, about 120 MB) are relayed, then an
%% operator sends SIGUSR1.
-module(bd_bin_gc).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(FRAME, 1048576).
-define(MIN_BIN_VHEAP, 64 * 1048576).     % words
-define(FULLSWEEP, 65535).
-define(MIN_HEAP, 1048576).               % words

start() ->
    N = frames(),
    Opts = [{spawn_opt, [{min_heap_size, ?MIN_HEAP}, {min_bin_vheap_size, ?MIN_BIN_VHEAP},
                          {fullsweep_after, ?FULLSWEEP}]}],
    {ok, Sup} = supervisor:start_link({local, relay_sup}, bd_sup, {one_for_one,
                  [{frame_relay, {gen_server, start_link, [{local, frame_relay}, ?MODULE, [], Opts]}}]}),
    unlink(Sup),
    Relay = whereis(frame_relay),
    [gen_server:cast(frame_relay, {frame, I, frame(I)}) || I <- lists:seq(1, N)],
    Seen = gen_server:call(frame_relay, seen, infinity),
    {garbage_collection, GC} = process_info(Relay, garbage_collection),
    {binary, Bins} = process_info(Relay, binary),
    Held = lists:sum([Sz || {_, Sz, _} <- lists:ukeysort(1, Bins)]),
    bd_truth:write(bd_truth:base(bin_gc, binary_leak) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, frame_relay},
                        {culprit_pid, Relay},
                        {frames_seen, Seen},
                        {frame_bytes, ?FRAME},
                        {garbage_bytes_min, Held},
                        {min_heap_size, proplists:get_value(min_heap_size, GC)},
                        {min_bin_vheap_size, proplists:get_value(min_bin_vheap_size, GC)},
                        {fullsweep_after, proplists:get_value(fullsweep_after, GC)},
                        {binary_memory_seen, erlang:memory(binary)}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

frames() ->
    case init:get_argument(bd_frames) of
        {ok, [[N]]} -> list_to_integer(N);
        _ -> 120
    end.

frame(I) -> <<I:32, (binary:copy(<<7>>, ?FRAME - 4))/binary>>.

init([]) -> {ok, #{seen => 0}}.

%% Only the header is read; the frame is garbage as soon as this returns.
handle_cast({frame, _I, <<_Seq:32, _/binary>>}, S = #{seen := N}) ->
    {noreply, S#{seen := N + 1}}.

handle_call(seen, _From, S = #{seen := N}) -> {reply, N, S}.

handle_info(_, S) -> {noreply, S}.
