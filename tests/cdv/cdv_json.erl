%% cdv_json: what OTP's crashdump_viewer reads from a dump, as one JSON object on
%% stdout, for tests/cdv/compare.py (beamdump's second opinion).
%%
%%   erlc -o OUT tests/cdv/cdv_json.erl
%%   erl -noshell -pa OUT -run cdv_json main FILE
%%
%% Uses the calls its GUI makes (crashdump_viewer:start_link/0, read_file/1,
%% general_info/0, processes/0, ports/0, ets_tables/1, timers/1, funs/0,
%% loaded_modules/0, dist_info/0, persistent_terms/0, hash_tables/0,
%% index_tables/0, allocated_areas/0). A call that fails is reported as
%% {"error": ...} for its part; the others still answer.
-module(cdv_json).
-export([main/1]).
-include_lib("observer/src/crashdump_viewer.hrl").

main([File]) ->
    %% The viewer may die on input it does not know; keep going and say so.
    process_flag(trap_exit, true),
    logger:set_primary_config(level, none),
    {ok, _} = crashdump_viewer:start_link(),
    register(cdv_progress_handler, self()),
    ok = crashdump_viewer:read_file(File),
    case wait_done() of
        ok -> ok;
        {error, R} ->
            out([{file, File}, {error, fmt(R)}]),
            halt(0)
    end,
    Parts = [{general, fun general/0}, {processes, fun procs/0}, {ports, fun ports/0},
             {ets, fun ets/0}, {timers, fun timers/0}, {funs, fun funs/0},
             {modules, fun mods/0}, {nodes, fun nodes/0},
             {hash_tables, fun hash/0}, {index_tables, fun index/0},
             {areas, fun areas/0},
             %% last: literals are parsed for it, and the OTP 25 viewer dies on an
             %% OTP 27 dump's Rf lines there
             {pterms, fun pterms/0}],
    out([{file, File} | [{K, safe(F)} || {K, F} <- Parts]]),
    halt(0).

wait_done() ->
    receive
        {progress, {ok, done}} -> ok;
        {progress, {error, _} = E} -> E;
        {progress, _} -> wait_done()
    after 600000 -> {error, timeout}
    end.

safe(F) ->
    try F() catch C:R -> {obj, [{error, fmt({C, R})}]} end.

fmt(T) -> lists:flatten(io_lib:format("~0P", [T, 12])).

general() ->
    {ok, G, _} = crashdump_viewer:general_info(),
    {obj, [{slogan, G#general_info.slogan}, {system_vsn, G#general_info.system_vsn},
           {node_name, G#general_info.node_name}, {num_atoms, G#general_info.num_atoms},
           {num_procs, G#general_info.num_procs}, {num_ets, G#general_info.num_ets},
           {num_timers, G#general_info.num_timers}, {num_fun, G#general_info.num_fun},
           {mem_tot, G#general_info.mem_tot}, {taints, G#general_info.taints},
           {thread, G#general_info.thread}, {created, G#general_info.created}]}.

procs() ->
    {ok, Ps, _} = crashdump_viewer:processes(),
    [{obj, [{pid, P#proc.pid}, {name, P#proc.name}, {state, P#proc.state},
            {init_func, P#proc.init_func}, {parent, P#proc.parent},
            {msg_q_len, P#proc.msg_q_len}, {reds, P#proc.reds},
            {memory, P#proc.memory}, {stack_heap, P#proc.stack_heap},
            {old_heap, P#proc.old_heap},
            {current_func, P#proc.current_func}]} || P <- Ps].

ports() ->
    {ok, Ps, _} = crashdump_viewer:ports(),
    [{obj, [{id, P#port.id}, {slot, P#port.slot}, {connected, P#port.connected},
            {name, P#port.name}, {controls, P#port.controls}, {input, P#port.input},
            {output, P#port.output}, {queue, P#port.queue},
            {links, fmt(P#port.links)}, {monitors, fmt(P#port.monitors)},
            {port_data, P#port.port_data}]} || P <- Ps].

ets() ->
    {ok, Ts, _} = crashdump_viewer:ets_tables(all),
    [{obj, [{pid, T#ets_table.pid}, {id, T#ets_table.id}, {name, T#ets_table.name},
            {size, T#ets_table.size}, {memory, T#ets_table.memory},
            {data_type, T#ets_table.data_type}, {buckets, T#ets_table.buckets},
            {slot, T#ets_table.slot}]} || T <- Ts].

timers() ->
    {ok, Ts, _} = crashdump_viewer:timers(all),
    [{obj, [{pid, T#timer.pid}, {name, T#timer.name}, {msg, T#timer.msg},
            {time, T#timer.time}]} || T <- Ts].

funs() ->
    {ok, Fs, _} = crashdump_viewer:funs(),
    [{obj, [{module, F#fu.module}, {uniq, F#fu.uniq}, {index, F#fu.index},
            {refc, F#fu.refc}]} || F <- Fs].

mods() ->
    {ok, Ms, _} = crashdump_viewer:loaded_modules(),
    [{obj, [{mod, modname(M#loaded_mod.mod)}, {current_size, M#loaded_mod.current_size},
            {old_size, M#loaded_mod.old_size}]} || M <- Ms].

nodes() ->
    {ok, Ns, _} = crashdump_viewer:dist_info(),
    [{obj, [{name, N#nod.name}, {channel, N#nod.channel}, {conn_type, N#nod.conn_type},
            {controller, N#nod.controller}, {creation, fmt(N#nod.creation)},
            {remote_links, length(N#nod.remote_links)},
            {remote_mon, length(N#nod.remote_mon)},
            {remote_mon_by, length(N#nod.remote_mon_by)}]} || N <- Ns].

modname({Name, _Quote}) -> Name;
modname(Name) -> Name.

pterms() ->
    {ok, Ps, _} = crashdump_viewer:persistent_terms(),
    length(Ps).

hash() ->
    {ok, Hs, _} = crashdump_viewer:hash_tables(),
    [{obj, [{name, H#hash_table.name}, {size, H#hash_table.size},
            {used, H#hash_table.used}, {objs, H#hash_table.objs},
            {depth, H#hash_table.depth}]} || H <- Hs].

index() ->
    {ok, Is, _} = crashdump_viewer:index_tables(),
    [{obj, [{name, I#index_table.name}, {size, I#index_table.size},
            {limit, I#index_table.limit}, {entries, I#index_table.entries}]} || I <- Is].

areas() ->
    {ok, As, _} = crashdump_viewer:allocated_areas(),
    [fmt(A) || A <- As].

%% ---- a small JSON writer ----
out(Kv) ->
    ok = io:setopts(standard_io, [{encoding, unicode}]),
    io:put_chars(standard_io, [json({obj, Kv}), $\n]).

json({obj, Kv}) ->
    [${, lists:join($,, [[json_str(atom_to_list(K)), $:, json(V)] || {K, V} <- Kv]), $}];
json(L) when is_list(L) ->
    case io_lib:printable_unicode_list(L) of
        true -> json_str(L);
        false -> [$[, lists:join($,, [json(X) || X <- L]), $]]
    end;
json(B) when is_binary(B) -> json_str(unicode:characters_to_list(B));
json(I) when is_integer(I) -> integer_to_list(I);
json(F) when is_float(F) -> float_to_list(F, [{decimals, 6}]);
json(true) -> "true";
json(false) -> "false";
json(undefined) -> "null";
json(A) when is_atom(A) -> json_str(atom_to_list(A));
json(T) -> json_str(fmt(T)).

json_str(S) ->
    [$", [esc(C) || C <- S], $"].

esc($") -> "\\\"";
esc($\\) -> "\\\\";
esc(C) when C < 32 -> io_lib:format("\\u~4.16.0b", [C]);
esc(C) -> C.
