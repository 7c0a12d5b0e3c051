%% cpu_overload: CPU-bound work floods the run queues.
%%
%% report_server answers each report request by spawning a worker that renders
%% the report in pure Erlang (a long computation, no I/O). 600 requests arrive in
%% a burst, so 600 workers compete for the 2 schedulers: every run queue is
%% hundreds long and everything on the node (timers, calls, the shell) waits its
%% turn. An operator sends SIGUSR1.
-module(bd_cpu_overload).
-behaviour(gen_server).
-export([start/0, render/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(REQUESTS, 600).

start() ->
    {ok, Sup} = supervisor:start_link({local, report_sup}, bd_sup, {one_for_one,
                  [{report_server, {gen_server, start_link, [{local, report_server}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    S = whereis(report_server),
    [gen_server:cast(report_server, {report, I}) || I <- lists:seq(1, ?REQUESTS)],
    timer:sleep(500),
    bd_truth:write(bd_truth:base(cpu_overload, scheduler_overload) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, report_server},
                        {culprit_pid, S},
                        {workers, ?REQUESTS},
                        {worker_initial_call, "bd_cpu_overload:render/1"}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

init([]) -> {ok, #{}}.

handle_cast({report, I}, S) ->
    spawn_link(?MODULE, render, [I]),
    {noreply, S}.

handle_call(_, _, S) -> {reply, ok, S}.
handle_info(_, S) -> {noreply, S}.

%% The report: far more arithmetic than anyone planned for.
render(I) -> render(I, 200000000, 0).

render(_, 0, Acc) -> exit({rendered, Acc});
render(I, N, Acc) -> render(I, N - 1, (Acc + N * I) rem 1000003).
