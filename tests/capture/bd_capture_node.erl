%% A node for the capture tests (tests/test_capture.c) and the capture bench.
%%
%%   erl -sname N@localhost -setcookie C -noshell -pa DIR \
%%       -run bd_capture_node main Mode ReadyFile [Procs]
%%
%% Every mode makes the same known culprits, then writes ReadyFile ("ready <os pid>"):
%%   bd_overloaded  a registered process that never reads its mailbox, 20,000 queued
%%                  {job, N, <<...>>} messages  -> mailbox_overload (the first queued
%%                  message holds the node's cookie: captures must redact it)
%%   bd_binholder   a registered process holding 24 refc binaries of 1 MiB -> binary_leak
%%   bd_dupholder   3,000 messages, each a 1 kB slice of one 4 MiB binary: process_info(P,
%%                  binary) lists that binary 3,000 times (a capture must count it once)
%%   bd_hibernated  a registered process in erlang:hibernate/3
%%   a proc_lib process named by a RabbitMQ-style process_name entry
%% bd_overloaded and bd_dupholder run in the application bd_capture_app (their group
%% leader is its master); plus Procs idle processes (default 0). Modes:
%%   idle   wait forever (capture tests kill the node)
%%   crash  then halt with a slogan: the VM writes its crash dump (sink test)
%%   load   like idle, plus a request/reply load loop that records latencies; the
%%          bench asks it for percentiles with rpc (bench/capture_bench.sh)
%%   alarm  like idle, plus os_mon with a system memory high watermark of 0.01 %:
%%          memsup itself raises system_memory_high_watermark in SASL's alarm_handler
%%          (ready once it has)
%%   calm   like idle, plus os_mon with watermarks no host reaches (ready once memsup
%%          has measured): no alarm
-module(bd_capture_node).
-export([main/1, overloaded/0, binholder/1, idle/0, server/0, latency_report/0,
         latency_reset/0, start/2, stop/1, dupholder/1, named/0]).

-define(MESSAGES, 20000).
-define(BINARIES, 24).

main([Mode, Ready | Rest]) ->
    Procs = case Rest of [N | _] -> list_to_integer(N); [] -> 0 end,
    setup(Procs),
    case Mode of
        "load" -> start_load();
        "alarm" -> start_os_mon(0.0001), wait_alarm(system_memory_high_watermark, 300);
        "calm" -> start_os_mon(1.0), memsup:get_system_memory_data();
        _ -> ok
    end,
    ok = file:write_file(Ready, io_lib:format("ready ~s~n", [os:getpid()])),
    case Mode of
        "crash" ->
            timer:sleep(200),
            erlang:halt("bd_capture_node watchdog: mailbox overload in bd_overloaded");
        _ ->
            receive never -> ok end
    end.

setup(Procs) ->
    ok = application:load({application, bd_capture_app,
                           [{description, "capture test application"}, {vsn, "1"},
                            {modules, []}, {registered, []},
                            {applications, [kernel, stdlib]}, {mod, {?MODULE, []}}]}),
    ok = application:start(bd_capture_app),
    O = whereis(bd_overloaded),
    %% The node's cookie in the first queued message: the capture must not store it.
    O ! {cookie_leak, atom_to_binary(erlang:get_cookie(), latin1)},
    [O ! {job, I, <<I:32, "payload">>} || I <- lists:seq(1, ?MESSAGES)],
    H = spawn(?MODULE, binholder, [?BINARIES]),
    register(bd_binholder, H),
    wait_len(O, ?MESSAGES + 1),
    H ! {self(), ready},
    receive {H, held} -> ok end,
    register(bd_hibernated, spawn(fun() -> erlang:hibernate(?MODULE, idle, []) end)),
    proc_lib:spawn(?MODULE, named, []),
    D = whereis(bd_dupholder),
    Big = binary:copy(<<7>>, 4 * 1024 * 1024),
    [D ! {msg, binary:part(Big, I * 1024, 1024)} || I <- lists:seq(0, 2999)],
    D ! {self(), count},
    receive {D, 3000} -> ok end,
    [spawn(?MODULE, idle, []) || _ <- lists:seq(1, Procs)],
    ok.

%% The application callback: its processes get the master as group leader.
start(_Type, _Args) ->
    register(bd_overloaded, spawn(?MODULE, overloaded, [])),
    register(bd_dupholder, spawn(?MODULE, dupholder, [[]])),
    {ok, spawn_link(?MODULE, idle, [])}.

stop(_) -> ok.

dupholder(L) ->
    receive
        {msg, B} -> dupholder([B | L]);
        {From, count} -> From ! {self(), length(L)}, dupholder(L)
    end.

named() ->
    put(process_name, {rabbit_amqqueue_process, {resource, <<"/">>, queue, <<"bd_q">>}}),
    idle().

wait_len(P, N) ->
    case erlang:process_info(P, message_queue_len) of
        {message_queue_len, L} when L >= N -> ok;
        _ -> timer:sleep(10), wait_len(P, N)
    end.

%% Never reads its mailbox: it waits for a message that never comes.
overloaded() ->
    receive {never, never} -> ok end.

binholder(N) ->
    Bins = [<<I:8, 0:(8 * 1024 * 1024 - 8)>> || I <- lists:seq(1, N)],
    holder_loop(Bins).

holder_loop(Bins) ->
    receive
        {From, ready} -> From ! {self(), held}, holder_loop(Bins);
        {From, sum} -> From ! {self(), lists:sum([byte_size(B) || B <- Bins])}, holder_loop(Bins)
    end.

idle() ->
    receive stop -> ok end.

%% ---- os_mon: memsup checks the host's memory against the watermarks ----
start_os_mon(Watermark) ->
    ok = application:load(os_mon),
    [ok = application:set_env(os_mon, K, V) ||
        {K, V} <- [{start_cpu_sup, false}, {start_disksup, false}, {start_os_sup, false},
                   {system_memory_high_watermark, Watermark},
                   {process_memory_high_watermark, Watermark}]],
    {ok, _} = application:ensure_all_started(os_mon).

wait_alarm(Id, 0) -> exit({no_alarm, Id, alarm_handler:get_alarms()});
wait_alarm(Id, N) ->
    case lists:keymember(Id, 1, alarm_handler:get_alarms()) of
        true -> ok;
        false -> timer:sleep(100), wait_alarm(Id, N - 1)
    end.

%% ---- load loop: a client calls a server every millisecond ----
start_load() ->
    S = spawn(?MODULE, server, []),
    register(bd_load_server, S),
    Tab = ets:new(bd_latency, [public, named_table, duplicate_bag]),
    spawn(fun() -> client(S, Tab) end).

server() ->
    receive
        {From, Ref, Req} -> From ! {Ref, erlang:phash2(Req)}, server()
    end.

client(S, Tab) ->
    T0 = erlang:monotonic_time(microsecond),
    Ref = make_ref(),
    S ! {self(), Ref, {work, T0, lists:seq(1, 20)}},
    receive {Ref, _} -> ok end,
    T1 = erlang:monotonic_time(microsecond),
    ets:insert(Tab, {lat, T1 - T0}),
    receive after 1 -> ok end,
    client(S, Tab).

%% {Count, P50, P99, Max} in microseconds since the last reset.
latency_report() ->
    L = lists:sort([V || {lat, V} <- ets:lookup(bd_latency, lat)]),
    N = length(L),
    case N of
        0 -> {0, 0, 0, 0};
        _ -> {N, lists:nth(max(1, N div 2), L), lists:nth(max(1, (N * 99) div 100), L), lists:last(L)}
    end.

latency_reset() ->
    ets:delete_all_objects(bd_latency), ok.
