%% busy_port: a gen_server blocked in gen_tcp:send on a busy TCP port, callers
%% hanging behind it.
%%
%% feed_sink accepts one loopback connection and never reads from it (a stalled
%% peer). feed_pusher (a gen_server under feed_sup) owns the client socket,
%% opened with a 16 MB high watermark, and pushes 1 MB chunks from handle_cast.
%% The kernel buffers fill, the inet driver queues the rest, and once the queue
%% passes the watermark the port is busy: the send that crossed it waits for
%% its reply (prim_inet:send_recv_reply/2) until the queue drains, which never
%% happens. Two clients then call feed_pusher (gen_server:call, infinity) and
%% hang behind it, and a heartbeat process that writes on the same socket is
%% suspended by the busy port. An operator sends SIGUSR1.
-module(bd_busy_port).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(CHUNK, 1048576).
-define(HIGH, 16 * 1048576).

start() ->
    Self = self(),
    Sink = spawn(fun() -> sink(Self) end),
    Port = receive {listening, P} -> P end,
    {ok, Sup} = supervisor:start_link({local, feed_sup}, bd_sup, {one_for_one,
                  [{feed_pusher, {gen_server, start_link, [{local, feed_pusher}, ?MODULE, Port, []]}}]}),
    unlink(Sup),
    Pusher = whereis(feed_pusher),
    Sock = gen_server:call(feed_pusher, socket),
    Chunk = binary:copy(<<"0123456789abcdef">>, ?CHUNK div 16),
    [gen_server:cast(feed_pusher, {push, Chunk}) || _ <- lists:seq(1, ?HIGH div ?CHUNK + 8)],
    wait_busy(Pusher, 100),
    Callers = [spawn(fun() -> register(Name, self()),
                              gen_server:call(feed_pusher, {status, Name}, infinity) end)
               || Name <- [feed_monitor, feed_admin]],
    Beat = spawn(fun() -> register(feed_heartbeat, self()), gen_tcp:send(Sock, <<"ping\n">>) end),
    timer:sleep(300),
    {status, BeatStatus} = process_info(Beat, status),
    {queue_size, Queued} = erlang:port_info(Sock, queue_size),
    bd_truth:write(bd_truth:base(busy_port, busy_port) ++
                       [{secondary_kinds, "manual_dump,blocked_call"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, feed_pusher},
                        {culprit_pid, Pusher},
                        {port, Sock},
                        {port_driver, tcp_inet},
                        {queue_bytes_min, Queued},
                        {high_watermark, ?HIGH},
                        {sender_function, "prim_inet:send_recv_reply/2"},
                        {blocked_callers, Callers},
                        {blocked_caller_names, [feed_monitor, feed_admin]},
                        {heartbeat_pid, Beat},
                        {heartbeat_status, BeatStatus},
                        {sink_pid, Sink}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

%% Until the pusher is stuck in the send (or 100 tries of 20 ms).
wait_busy(_Pusher, 0) -> ok;
wait_busy(Pusher, N) ->
    case process_info(Pusher, current_function) of
        {current_function, {prim_inet, send_recv_reply, 2}} -> timer:sleep(100);
        _ -> timer:sleep(20), wait_busy(Pusher, N - 1)
    end.

%% The stalled peer: accepts, then never reads.
sink(Parent) ->
    register(feed_sink, self()),
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(L),
    Parent ! {listening, Port},
    {ok, S} = gen_tcp:accept(L),
    receive stop -> gen_tcp:close(S) end.

init(Port) ->
    {ok, Sock} = gen_tcp:connect({127, 0, 0, 1}, Port,
                                 [binary, {active, false}, {high_watermark, ?HIGH},
                                  {low_watermark, ?HIGH div 2}]),
    {ok, #{sock => Sock, sent => 0}}.

handle_cast({push, Chunk}, S = #{sock := Sock, sent := N}) ->
    ok = gen_tcp:send(Sock, Chunk),
    {noreply, S#{sent := N + byte_size(Chunk)}}.

handle_call(socket, _From, S = #{sock := Sock}) -> {reply, Sock, S};
handle_call({status, _Who}, _From, S = #{sent := N}) -> {reply, N, S}.

handle_info(_, S) -> {noreply, S}.
