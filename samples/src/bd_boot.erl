%% boot: a node whose boot fails because its HTTP listener's port is taken.
%%
%% The boot script (-s bd_boot start) starts the application bd_shop with
%% application:ensure_all_started/1 and matches {ok, _}. Another socket already
%% listens on the configured port, so the supervisor shop_sup cannot start its child
%% http_listener ({error, {listen_failed, Port, eaddrinuse}}), bd_shop does not
%% start, the match fails and init halts the node:
%%   init terminating in do_boot ({{badmatch,{error,{bd_shop,{_}}}},[...]})
%% init prints the reason only four levels deep, so the slogan has lost which child
%% failed and why. The supervisor's report, logged while the boot was failing, still
%% holds it.
-module(bd_boot).
-behaviour(application).
-behaviour(supervisor).
-export([start/0, start/2, stop/1, init/1, start_listener/0]).

start() ->
    %% The port is taken (an old instance still running, another service).
    {ok, Taken} = gen_tcp:listen(0, [{ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(Taken),
    ok = application:load({application, bd_shop,
                           [{description, "a shop"}, {vsn, "1"}, {modules, []},
                            {registered, [shop_sup]}, {applications, [kernel, stdlib]},
                            {mod, {?MODULE, []}}, {env, [{port, Port}]}]}),
    bd_truth:write(bd_truth:base(boot, boot_failure) ++
                       [{failure, boot_failed},
                        {slogan_prefix, "init terminating in do_boot"},
                        {app_name, bd_shop},
                        {supervisor_name, shop_sup},
                        {child_id, http_listener},
                        {child_error, lists:flatten(io_lib:format("{listen_failed,~p,eaddrinuse}",
                                                                  [Port]))},
                        {port, Port}]),
    {ok, _} = application:ensure_all_started(bd_shop).

start(_Type, _Args) ->
    supervisor:start_link({local, shop_sup}, ?MODULE, []).

stop(_) -> ok.

init([]) ->
    {ok, {#{strategy => one_for_one},
          [#{id => http_listener, start => {?MODULE, start_listener, []}}]}}.

start_listener() ->
    {ok, Port} = application:get_env(bd_shop, port),
    case gen_tcp:listen(Port, [{ip, {127, 0, 0, 1}}]) of
        {ok, S} -> {ok, spawn_link(fun() -> receive stop -> gen_tcp:close(S) end end)};
        {error, Why} -> {error, {listen_failed, Port, Why}}
    end.
