%% mailbox: a slow gen_server (mbox_sink) flooded by 4 producers.
%%
%% The sink "writes each job to a database" (sleeps 5 ms per message), so it
%% handles ~200 messages/s while the producers send thousands. Producers
%% mostly cast {job, N, Payload}; every 2000 jobs each one also makes a
%% gen_server:call with a 50 ms timeout, catches the timeout and goes on. That
%% is the classic way stale '$gen_call' messages pile up in a queue.
%% A third kind of client, mbox_health, makes one call with infinity timeout
%% and stays blocked on the sink.
%%
%% Failure: a watchdog process, like an operator's health check, halts the
%% node with a crash dump once the queue passes 50 000 messages. A memory cap
%% would take millions of messages and give a dump of hundreds of MB; the
%% watchdog gives a realistic ~10 MB dump in about a second.
-module(bd_mailbox).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(LIMIT, 50000).
-define(PRODUCERS, 4).

start() ->
    {ok, Sink} = gen_server:start({local, mbox_sink}, ?MODULE, [], []),
    Producers = [spawn(fun() -> producer(I, 1) end) || I <- lists:seq(1, ?PRODUCERS)],
    Health = spawn(fun() ->
                           register(mbox_health, self()),
                           gen_server:call(mbox_sink, stats, infinity)
                   end),
    Base = bd_truth:base(mailbox, mailbox_overload) ++
        [{failure, watchdog_halt},
         {slogan_prefix, "mailbox overload watchdog:"},
         {culprit_name, mbox_sink},
         {culprit_pid, Sink},
         {producer_count, ?PRODUCERS},
         {producer_pids, Producers},
         {msg_shape, "'$gen_cast' {job, integer, binary}"},
         {msg_tag, job},
         {blocked_caller_name, mbox_health},
         {blocked_caller_pid, Health},
         {blocked_callee_name, mbox_sink}],
    bd_truth:write(Base),
    spawn(fun() -> watchdog(Sink, Base) end),
    ok.

producer(I, N) ->
    Payload = <<"order:", I:8, N:32, 0:(8 * 32)>>,   % 43 bytes: a heap binary
    gen_server:cast(mbox_sink, {job, N, Payload}),
    if N rem 2000 =:= 0 ->
            %% Caller gives up after 50 ms; its request stays in the queue.
            catch gen_server:call(mbox_sink, {status, I, N}, 50);
       N rem 100 =:= 0 ->
            timer:sleep(1);                           % keep the pace near 100 jobs/ms
       true -> ok
    end,
    producer(I, N + 1).

watchdog(Sink, Base) ->
    process_flag(priority, high),
    {message_queue_len, Len} = process_info(Sink, message_queue_len),
    if Len >= ?LIMIT ->
            %% The sink takes at most one message in the microseconds between
            %% this reading and the halt (it sleeps 5 ms per message), and the
            %% producers are still adding; Len - 5 is a safe lower bound.
            bd_truth:write(Base ++ [{msgq_len_seen, Len}, {msgq_len_min, Len - 5},
                                    {msgq_limit, ?LIMIT}]),
            %% halt while the sink is inside its callback (it sleeps 5 ms of every
            %% message), as the truth says, not between two messages
            bd_truth:wait_until("mbox_sink in handle_cast", fun() ->
                bd_truth:waiting_in(Sink, {timer, sleep, 1})
            end),
            erlang:halt(lists:flatten(io_lib:format(
                 "mailbox overload watchdog: mbox_sink message_queue_len=~b exceeds ~b",
                 [Len, ?LIMIT])));
       true ->
            timer:sleep(20),
            watchdog(Sink, Base)
    end.

%% gen_server callbacks of mbox_sink
init([]) -> {ok, #{done => 0}}.

handle_cast({job, _N, _Payload}, S = #{done := D}) ->
    timer:sleep(5),                                   % the slow "database write"
    {noreply, S#{done := D + 1}}.

handle_call(stats, _From, S) -> {reply, S, S};
handle_call({status, _I, _N}, _From, S) -> {reply, ok, S}.

handle_info(_Msg, S) -> {noreply, S}.
