%% binleak: two ways to leak refc (off-heap) binaries, under a VM memory cap.
%%
%% blob_store: a cache that never evicts. A loader process reads 100 blobs of
%%   100 kB, hands them over and exits, so blob_store holds the only reference.
%%   (binary_leak: large binaries kept on purpose but forever.)
%% slice_keeper: an "index" that keeps the 128-byte header of every 1 MB packet
%%   it sees. binary:part/3 makes a sub-binary, which keeps the whole 1 MB
%%   packet alive (binary_pinning). packet_reader allocates the packets and
%%   hands them over with a synchronous call, so only one is in flight.
%%
%% Why 128 bytes and not 16: OTP's garbage collector copies sub-binaries of
%% at most 64 bytes into small heap binaries and lets the big binary go, so a
%% 16-byte slice does NOT pin anything once the keeper has been GC'd.
%%
%% Failure: the node runs with +MMscs 128 +MMsco true +Musac false (all
%% carriers from a 128 MB super carrier, no fallback to malloc), so the next
%% 1 MB packet fails with "binary_alloc: Cannot allocate 1048576 bytes of
%% memory (of type "binary")" and the VM writes the dump.
%%
%% OTP 25 detail the analyzer must handle: the blobs appear as Yc lines plus
%% =binary sections (their content), while the slices appear as Ys lines whose
%% Binary* target is NOT in =binary; the pinned megabytes show only in the
%% keeper's BinVHeap/OldBinVHeap counters.
-module(bd_binleak).
-export([start/0]).

-define(BLOBS, 100).
-define(BLOB_SIZE, 100000).
-define(PACKET_SIZE, 1048576).
-define(SLICE_SIZE, 128).

start() ->
    Store = spawn(fun() -> register(blob_store, self()), store_loop(#{}) end),
    Loader = spawn(fun() -> load_blobs(Store) end),
    Ref = monitor(process, Loader),
    receive {'DOWN', Ref, process, _, normal} -> ok end,
    Base = bd_truth:base(binleak, binary_pinning) ++
        [{secondary_kinds, "binary_leak,allocator_oom"},
         {failure, memory_cap},
         {cap_mb, cap_mb()},
         {slogan_prefix, "binary_alloc: Cannot allocate"},
         {leak_holder_name, blob_store},
         {leak_holder_pid, Store},
         {leak_bin_count, ?BLOBS},
         {leak_bin_size, ?BLOB_SIZE},
         {pin_bin_size, ?PACKET_SIZE},
         {slice_size, ?SLICE_SIZE}],
    bd_truth:write(Base),
    Keeper = spawn(fun() -> register(slice_keeper, self()), keeper_loop(Base, #{}) end),
    spawn(fun() -> register(packet_reader, self()), reader_loop(Keeper, 0) end),
    ok.

cap_mb() ->
    case init:get_argument(bd_cap_mb) of {ok, [[V]]} -> V; _ -> "unknown" end.

load_blobs(Store) ->
    [Store ! {put, I, binary:copy(<<I:8>>, ?BLOB_SIZE)} || I <- lists:seq(1, ?BLOBS)],
    Store ! {sync, self()},
    receive synced -> ok end.

store_loop(Blobs) ->
    receive
        {put, K, Bin} -> store_loop(Blobs#{K => Bin});
        {sync, From} -> From ! synced, store_loop(Blobs)
    end.

reader_loop(Keeper, N) ->
    %% "read a packet from the network": a fresh 1 MB refc binary
    Packet = binary:copy(<<N:32>>, ?PACKET_SIZE div 4),
    ok = gen_server:call(Keeper, {packet, N, Packet}, infinity),
    reader_loop(Keeper, N + 1).

%% slice_keeper answers gen_server-style calls by hand to stay small.
keeper_loop(Base, Index) ->
    receive
        {'$gen_call', From, {packet, N, Packet}} ->
            Header = binary:part(Packet, 0, ?SLICE_SIZE),   % pins all of Packet
            Index1 = Index#{N => Header},
            bd_truth:write(Base ++ [{pin_holder_name, slice_keeper},
                                    {pin_holder_pid, self()},
                                    {pinned_count_min, map_size(Index1)},
                                    {reader_name, packet_reader}]),
            gen:reply(From, ok),
            keeper_loop(Base, Index1)
    end.
