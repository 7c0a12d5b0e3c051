%% port_limit: port-table exhaustion.
%%
%% The node runs with +Q 1024 (the smallest port limit the VM accepts).
%% udp_pool "opens a socket per peer" and never closes them. When the port
%% table is full, gen_udp:open/1 returns {error, system_limit}; udp_pool treats
%% that as fatal and halts the node with a crash dump (fail fast, like
%% a health check would). All its sockets are still open, so the dump shows
%% ~1000 =port sections owned by one process.
-module(bd_port_limit).
-export([start/0]).

start() ->
    Base = bd_truth:base(port_limit, port_limit) ++
        [{failure, halt_on_system_limit},
         {slogan_prefix, "udp_pool: cannot open socket: system_limit"},
         {culprit_name, udp_pool},
         {port_driver, udp_inet}],
    bd_truth:write(Base),
    spawn(fun() -> register(udp_pool, self()), open_loop(Base, []) end),
    ok.

open_loop(Base, Socks) ->
    case gen_udp:open(0, [binary, {active, false}]) of
        {ok, S} ->
            open_loop(Base, [S | Socks]);
        {error, Reason} ->
            N = length(Socks),
            bd_truth:write(Base ++ [{culprit_pid, self()},
                                    {open_ports_min, N},
                                    {port_count_seen, erlang:system_info(port_count)},
                                    {open_error, Reason}]),
            erlang:halt(lists:flatten(io_lib:format(
                "udp_pool: cannot open socket: ~p (~b sockets open, port_count=~b, port_limit=~b)",
                [Reason, N, erlang:system_info(port_count), erlang:system_info(port_limit)])))
    end.
