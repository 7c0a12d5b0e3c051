%% dist_busy: a busy distribution port; senders to an unresponsive node hang.
%%
%% This node replicates price updates to a second node (price_mirror on a peer).
%% The peer stops responding (SIGSTOP: a long GC pause, a VM swapped out, a
%% frozen host): its socket buffers fill, the distribution port's output queue
%% grows past the busy limit (+zdbbl, 1 MB by default), and every process that
%% sends to that node is suspended (busy_dist_port). The 8 replicator processes
%% hang in their send; a gen_server call to one of them hangs behind it. An
%% operator sends SIGUSR1 before the net tick time notices the dead peer.
-module(bd_dist_busy).
-export([start/0, replicator/2, sink/0]).

-define(SENDERS, 8).
-define(CHUNK, 65536).

start() ->
    os:cmd("epmd -daemon"),
    Me = list_to_atom("bdmain" ++ os:getpid()),
    {ok, _} = net_kernel:start([Me, shortnames]),
    {ok, _Peer, Node} = peer:start(#{name => list_to_atom("bdmirror" ++ os:getpid()),
                                     args => ["+S", "1:1", "-pa", filename:dirname(code:which(?MODULE))]}),
    PeerOs = rpc:call(Node, os, getpid, []),
    Sink = rpc:call(Node, erlang, spawn, [?MODULE, sink, []]),
    true = rpc:call(Node, erlang, register, [price_mirror, Sink]),
    %% Whatever happens to this node, the peer is killed when it is gone.
    os:cmd("(while kill -0 " ++ os:getpid() ++ " 2>/dev/null; do sleep 0.2; done; kill -9 "
           ++ PeerOs ++ ") >/dev/null 2>&1 &"),
    os:cmd("kill -STOP " ++ PeerOs),
    Rs = [begin
              R = spawn(?MODULE, replicator, [Node, I]),
              register(list_to_atom("replicator_" ++ integer_to_list(I)), R),
              R
          end || I <- lists:seq(1, ?SENDERS)],
    %% the port is busy: every replicator is suspended in its send
    bd_truth:wait_until("every replicator suspended", fun() ->
        lists:all(fun(R) -> process_info(R, status) =:= {status, suspended} end, Rs)
    end),
    %% a caller that asks a replicator for its status hangs too
    Caller = spawn(fun() -> catch gen_server:call(replicator_1, status, infinity) end),
    register(status_poller, Caller),
    bd_truth:wait_until("status_poller waiting on replicator_1", fun() ->
        bd_truth:waiting_in(Caller, {gen, do_call, 4})
    end),
    [{_, DistPort} | _] = [{N, P} || {N, P} <- erlang:system_info(dist_ctrl), N =:= Node],
    {queue_size, Q} = erlang:port_info(DistPort, queue_size),
    Suspended = [R || R <- Rs, process_info(R, status) =:= {status, suspended}],
    bd_truth:write(bd_truth:base(dist_busy, busy_dist_port) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {remote_node, Node},
                        {dist_port, DistPort},
                        {culprit_name, Node},
                        {dist_queue_bytes, Q},
                        {senders, ?SENDERS},
                        {suspended_senders, length(Suspended)},
                        {sender_name, replicator_1},
                        {caller_name, status_poller}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

%% Sends every update to the mirror; a plain `!` suspends the sender while the
%% distribution port is busy.
replicator(Node, I) ->
    Chunk = binary:copy(<<I>>, ?CHUNK),
    replicator(Node, I, Chunk, 0).

replicator(Node, I, Chunk, N) ->
    {price_mirror, Node} ! {update, I, N, Chunk},
    replicator(Node, I, Chunk, N + 1).

sink() ->
    receive _ -> sink() end.
