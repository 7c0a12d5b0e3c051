%% ci_pool_load: N concurrent clients each check out a conn_pool worker, do one
%% request, and check it back in. The pool grows to N workers, which then idle
%% out: present right after a run, gone a moment later. Shared by both suites.
-module(ci_pool_load).
-export([run/1]).

run(N) ->
    Self = self(),
    Ws = [ci_app:checkout() || _ <- lists:seq(1, N)],
    [spawn_link(fun() ->
                    Ref = make_ref(), W ! {work, self(), Ref},
                    receive {Ref, 4096} -> Self ! {done, W} end
                end) || W <- Ws],
    [receive {done, W} -> ci_app:checkin(W) end || W <- Ws],
    ok.
