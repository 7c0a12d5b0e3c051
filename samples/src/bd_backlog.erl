%% backlog: a message broker in miniature, built the way RabbitMQ is.
%%
%% A reader process receives bytes in large buffers (512 kB) and cuts each into
%% 512-byte message bodies: sub-binaries of the buffer, as a broker's frame parser
%% makes them. It delivers them with gen_server:cast to queue processes, gen_servers
%% that name themselves with a process_name dictionary entry as RabbitMQ's queues
%% do ({rabbit_amqqueue_process, {resource, VHost, queue, Name}}). The queue
%% "orders" has no consumer: it keeps every body, a backlog of 18,420 messages
%% holding 10.5 MB of buffers. The queue "audit" is drained by its consumer and,
%% idle, hibernates (erlang:hibernate/3; the dump says "unknown function"). 10 %
%% of each buffer (protocol framing) goes nowhere, so the orders queue's bodies
%% cover 89.9 % of the buffers: 1.05 MB is pinned (unused but kept alive), 10.5 MB
%% is held. A tool that calls each body a slice pinning a whole buffer says
%% 18,420 x 512 kB = 9.6 GB.
%%
%% Beside them: a consumer gen_server and a gen_statem registered through
%% {via, global, Name}, and a worker labelled the way proc_lib:set_label/1 does it
%% on OTP 27 (put('$process_label', Label)). Then the operator sends SIGUSR1.
-module(bd_backlog).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([callback_mode/0, idle/3, labelled/0]).

-define(BUFFERS, 20).
-define(BUF_SIZE, 524288).
-define(BODY, 512).
-define(BODIES_SENT, 921).          % of 1024 per buffer: 89.9 %

start() ->
    {ok, Orders} = gen_server:start(?MODULE, [queue, <<"orders">>], []),
    %% Idle queues hibernate, as RabbitMQ's do.
    {ok, Audit} = gen_server:start(?MODULE, [queue, <<"audit">>], [{hibernate_after, 50}]),
    {ok, Consumer} = gen_server:start({via, global, {consumer, <<"audit">>}}, ?MODULE,
                                      [consumer, Audit], []),
    {ok, Statem} = gen_statem:start({via, global, {shovel, <<"orders">>}}, ?MODULE, statem, []),
    Labelled = proc_lib:spawn(?MODULE, labelled, []),
    Reader = proc_lib:spawn(fun() -> reader(Orders, Audit) end),
    Ref = monitor(process, Reader),
    receive {'DOWN', Ref, process, Reader, normal} -> ok end,
    %% the drained queue hibernates 50 ms after its last message: wait for it, so the
    %% truth and the dump agree on its function however slow the box
    bd_truth:wait_until("the audit queue hibernated", fun() ->
        process_info(Audit, current_function) =:= {current_function, {erlang, hibernate, 3}}
    end),
    {backlog, Backlog} = gen_server:call(Orders, backlog),
    bd_truth:write(bd_truth:base(backlog, binary_leak) ++
                       [{failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {secondary_kinds, "binary_pinning,manual_dump"},
                        {culprit_pid, Orders},
                        {culprit_label, "rabbit_amqqueue_process: queue 'orders' in vhost '/'"},
                        {drained_pid, Audit},
                        {drained_label, "rabbit_amqqueue_process: queue 'audit' in vhost '/'"},
                        {drained_function, mfa(process_info(Audit, current_function))},
                        {reader_label, "rabbit_reader: <<\"127.0.0.1:50412 -> 127.0.0.1:5672\">>"},
                        {backlog_messages, Backlog},
                        {buffers, ?BUFFERS},
                        {buffer_bytes, ?BUF_SIZE},
                        {body_bytes, ?BODY},
                        {covered_percent_x10, ?BODIES_SENT * 1000 div 1024},
                        {pinned_bytes, ?BUFFERS * (?BUF_SIZE - ?BODIES_SENT * ?BODY)},
                        {held_bytes, ?BUFFERS * ?BUF_SIZE},
                        {memory_binary, erlang:memory(binary)},
                        {consumer_pid, Consumer},
                        {consumer_label, "{consumer,<<\"audit\">>}"},
                        {statem_pid, Statem},
                        {statem_label, "{shovel,<<\"orders\">>}"},
                        {labelled_pid, Labelled},
                        {labelled_label, "{worker,7}"}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    timer:sleep(infinity).

mfa({current_function, {M, F, A}}) -> lists:flatten(io_lib:format("~p:~p/~p", [M, F, A])).

%% ---- the reader: buffers cut into bodies ----
reader(Orders, Audit) ->
    put(process_name, {rabbit_reader, <<"127.0.0.1:50412 -> 127.0.0.1:5672">>}),
    lists:foreach(fun(I) ->
                          Buf = binary:copy(<<I:8>>, ?BUF_SIZE),
                          deliver(Buf, 0, Orders),
                          Audit ! {deliver, binary:copy(<<"audit">>)}
                  end, lists:seq(1, ?BUFFERS)),
    %% Wait until the orders queue has every body (casts are asynchronous).
    gen_server:call(Orders, backlog, infinity).

deliver(_Buf, ?BODIES_SENT, _Q) -> ok;
deliver(Buf, N, Q) ->
    gen_server:cast(Q, {deliver, binary:part(Buf, N * ?BODY, ?BODY)}),
    deliver(Buf, N + 1, Q).

%% ---- queues ----
init([queue, Name]) ->
    put(process_name, {rabbit_amqqueue_process, {resource, <<"/">>, queue, Name}}),
    {ok, {Name, queue:new(), 0}};
init([consumer, Queue]) ->
    {ok, Queue};
init(statem) ->
    {ok, idle, #{}}.

handle_call(backlog, _From, {_, _, N} = S) -> {reply, {backlog, N}, S}.

handle_cast({deliver, Body}, {<<"orders">> = Name, Q, N}) ->
    {noreply, {Name, queue:in(Body, Q), N + 1}};
handle_cast({deliver, _Body}, S) ->
    {noreply, S}.

handle_info({deliver, _Body}, S) -> {noreply, S};
handle_info(_, S) -> {noreply, S}.

%% ---- a gen_statem with a via name ----
callback_mode() -> state_functions.
idle(_Type, _Msg, Data) -> {keep_state, Data}.

%% ---- a labelled worker (proc_lib:set_label/1 stores exactly this on OTP 27) ----
labelled() ->
    put('$process_label', {worker, 7}),
    receive stop -> ok end.
