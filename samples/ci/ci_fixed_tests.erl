%% ci_fixed_tests: the same tests as ci_leaky_tests, written so that they clean up.
-module(ci_fixed_tests).
-export([session_test/0, cache_test/0, parse_users_test/0, audit_test/0, pool_test/0]).

%% EUnit conventions (Name_test/0, crash = failure) without needing the eunit
%% package: ci_snap runs every exported *_test/0; `eunit:test(?MODULE)` would too.
-define(assertEqual(Expect, Expr), ci_snap:assert_equal(Expect, Expr)).
-define(assert(X), true = (X)).

-define(USERS, 50).
-define(EVENTS, 50).

session_test() ->
    S = ci_app:session_start(<<"alice">>),
    try ?assertEqual(pong, ci_app:session_ping(S))
    after ci_app:session_stop(S)
    end.

cache_test() ->
    T = ci_app:new_table(test_cache),
    try
        ets:insert(T, [{K, K * K} || K <- lists:seq(1, 200)]),
        ?assertEqual(200, ets:info(T, size))
    after ci_app:drop_table(T)
    end.

parse_users_test() ->
    Base = ci_snap:run_no() * 1000,
    Users = [parse_user("user_" ++ integer_to_list(Base + I)) || I <- lists:seq(1, ?USERS)],
    ?assertEqual(?USERS, length(lists:usort(Users))).

%% user names stay binaries: no atom is created
parse_user(S) -> list_to_binary(S).

audit_test() ->
    Before = ci_app:audit_count(),
    [ci_app:audit({login, I, binary:copy(<<"x">>, 1024)}) || I <- lists:seq(1, ?EVENTS)],
    ?assertEqual(Before + ?EVENTS, ci_app:audit_count()).

pool_test() ->
    ci_pool_load:run(20).
