%% atoms: atom-table exhaustion for real.
%%
%% The node runs with a small atom table (+t 16384; the VM refuses less than
%% 8192 and OTP 25 itself needs ~8 750 atoms to boot, so +t 8192 dies during
%% boot). A registered "tag_parser" turns external strings into atoms with
%% list_to_atom/1, the classic mistake: user ids ("user_123"), UUID-like
%% session ids and hex request ids. Atoms are never garbage-collected, so the
%% table fills and the VM stops with
%% "no more index entries in atom_tab (max=16384)".
-module(bd_atoms).
-export([start/0]).

start() ->
    Base = bd_truth:base(atoms, atom_exhaustion) ++
        [{failure, atom_table_full},
         {slogan_prefix, "no more index entries in atom_tab"},
         {atom_count_start, erlang:system_info(atom_count)},
         {dominant_prefix, "user_"}],
    bd_truth:write(Base),                 % also loads every module the writer needs
    spawn(fun() -> register(tag_parser, self()), parse(Base, 1, #{}) end),
    ok.

%% Mostly "user_<N>", every 10th a UUID-like id, every 25th a hex id.
parse(Base, I, Counts) ->
    {Kind, Name} =
        if I rem 10 =:= 0 -> {uuid, uuid(I)};
           I rem 25 =:= 0 -> {hex, "0x" ++ integer_to_list(I * 7919, 16)};
           true -> {user, "user_" ++ integer_to_list(I)}
        end,
    _ = list_to_atom(Name),
    C = Counts#{Kind => maps:get(Kind, Counts, 0) + 1},
    %% Rewrite the truth every 200 atoms; the counts are lower bounds.
    I rem 200 =:= 0 andalso
        bd_truth:write(Base ++ [{culprit_name, tag_parser}, {culprit_pid, self()},
                                {atoms_created_min, I},
                                {user_atoms_min, maps:get(user, C, 0)},
                                {uuid_atoms_min, maps:get(uuid, C, 0)},
                                {hex_atoms_min, maps:get(hex, C, 0)},
                                {atom_count_seen, erlang:system_info(atom_count)}]),
    parse(Base, I + 1, C).

uuid(I) ->
    <<A:32, B:16, C:16, D:16, E:48>> = erlang:md5(integer_to_binary(I)),
    lists:flatten(io_lib:format("~8.16.0b-~4.16.0b-~4.16.0b-~4.16.0b-~12.16.0b",
                                [A, B, C, D, E])).
