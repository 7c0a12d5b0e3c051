%% ets_leak: ETS tables created and never deleted, dumped on request.
%%
%% report_builder (a gen_server under reports_sup) builds each report in a
%% fresh private table (ets:new(report_rows, [set, private]), not named) and
%% forgets to delete it. -bd_reports N requests (default 12 000) leave N tables
%% behind, all owned by report_builder, which lives on. The VM reports
%% ets_limit = 8192 but no longer enforces it (OTP 25), so nothing fails; the
%% node only grows. An operator then sends SIGUSR1.
-module(bd_ets_leak).
-behaviour(gen_server).
-export([start/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() ->
    N = reports(),
    {ok, Sup} = supervisor:start_link({local, reports_sup}, bd_sup, {one_for_one,
                  [{report_builder, {gen_server, start_link, [{local, report_builder}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    Builder = whereis(report_builder),
    [gen_server:cast(report_builder, {build, I}) || I <- lists:seq(1, N)],
    Built = gen_server:call(report_builder, built, infinity),
    Tables = [T || T <- ets:all(), ets:info(T, owner) =:= Builder],
    Words = lists:sum([ets:info(T, memory) || T <- Tables]),
    bd_truth:write(bd_truth:base(ets_leak, ets_leak) ++
                       [{secondary_kinds, "manual_dump,ets_limit"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, report_builder},
                        {culprit_pid, Builder},
                        {ets_name, report_rows},
                        {leaked_tables_min, Built},
                        {owner_tables, length(Tables)},
                        {owner_table_words, Words},
                        {ets_count, length(ets:all())},
                        {ets_limit, erlang:system_info(ets_limit)}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

reports() ->
    case init:get_argument(bd_reports) of
        {ok, [[N]]} -> list_to_integer(N);
        _ -> 12000
    end.

init([]) -> {ok, #{built => 0}}.

handle_cast({build, Id}, S = #{built := N}) ->
    T = ets:new(report_rows, [set, private]),
    ets:insert(T, [{K, Id, K * K} || K <- lists:seq(1, 4)]),
    _Summary = ets:foldl(fun({_, _, V}, Acc) -> Acc + V end, 0, T),
    %% The bug: the table is never deleted (no ets:delete(T) here).
    {noreply, S#{built := N + 1}}.

handle_call(built, _From, S = #{built := N}) -> {reply, N, S}.

handle_info(_, S) -> {noreply, S}.
