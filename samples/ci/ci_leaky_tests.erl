%% ci_leaky_tests: an EUnit suite that passes every time and leaks every time.
%% Each run of the suite leaves behind (see ci_fixed_tests for the fixes):
%%   - a session process it never stops               (process leak)
%%   - an ETS table it never deletes                  (ETS table per test)
%%   - ?USERS atoms made from strings with list_to_atom (atom leak)
%%   - ?EVENTS messages sent to audit_log in a shape it never receives
%%     ({audit, ...} instead of {log, ...}), each with a 1 KB binary
%%                                                     (growing mailbox, binaries)
-module(ci_leaky_tests).
-export([session_test/0, cache_test/0, parse_users_test/0, audit_test/0, pool_test/0]).

%% EUnit conventions (Name_test/0, crash = failure) without needing the eunit
%% package: ci_snap runs every exported *_test/0; `eunit:test(?MODULE)` would too.
-define(assertEqual(Expect, Expr), ci_snap:assert_equal(Expect, Expr)).
-define(assert(X), true = (X)).

-define(USERS, 50).
-define(EVENTS, 50).

session_test() ->
    S = ci_app:session_start(<<"alice">>),
    ?assertEqual(pong, ci_app:session_ping(S)).
    %% leak: the session is never stopped

cache_test() ->
    T = ci_app:new_table(test_cache),
    ets:insert(T, [{K, K * K} || K <- lists:seq(1, 200)]),
    ?assertEqual(200, ets:info(T, size)).
    %% leak: the table belongs to cache_server and is never dropped

parse_users_test() ->
    Base = ci_snap:run_no() * 1000,
    Users = [parse_user("user_" ++ integer_to_list(Base + I)) || I <- lists:seq(1, ?USERS)],
    ?assertEqual(?USERS, length(lists:usort(Users))).

%% leak: one new atom per distinct user name, never collected
parse_user(S) -> list_to_atom(S).

audit_test() ->
    [audit_log ! {audit, {login, I, binary:copy(<<"x">>, 1024)}} || I <- lists:seq(1, ?EVENTS)],
    ?assert(is_pid(whereis(audit_log))).
    %% leak: audit_log only receives {log, _}; these stay in its mailbox

pool_test() ->
    ci_pool_load:run(20).
