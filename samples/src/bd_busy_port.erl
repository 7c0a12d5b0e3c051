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
    bd_truth:wait_until("feed_pusher stuck in its send", fun() ->
        bd_truth:waiting_in(Pusher, {prim_inet, send_recv_reply, 2})
    end),
    Callers = [spawn(fun() -> register(Name, self()),
                              gen_server:call(feed_pusher, {status, Name}, infinity) end)
               || Name <- [feed_monitor, feed_admin]],
    Beat = spawn(fun() -> register(feed_heartbeat, self()), gen_tcp:send(Sock, <<"ping\n">>) end),
    %% both callers wait on the pusher, the heartbeat is suspended by the busy port
    bd_truth:wait_until("callers waiting, heartbeat suspended", fun() ->
        lists:all(fun(C) -> bd_truth:waiting_in(C, {gen, do_call, 4}) end, Callers) andalso
            process_info(Beat, status) =:= {status, suspended}
    end),
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
