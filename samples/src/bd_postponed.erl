%% postponed: a gen_statem postpones every event in a state it never leaves.
%%
%% uplink (a gen_statem under uplink_sup) forwards messages to a remote peer. In
%% state connecting it postpones every {send, ...} until the connection is up;
%% the peer never answers, uplink never leaves connecting, and 20 000 messages
%% (200-byte binaries each) pile up in its postponed list: its mailbox is empty,
%% its heap and binaries grow. An operator sends SIGUSR1.
-module(bd_postponed).
-behaviour(gen_statem).
-export([start/0]).
-export([init/1, callback_mode/0, connecting/3, connected/3]).

-define(EVENTS, 20000).

start() ->
    {ok, Sup} = supervisor:start_link({local, uplink_sup}, bd_sup, {one_for_one,
                  [{uplink, {gen_statem, start_link, [{local, uplink}, ?MODULE, [], []]}}]}),
    unlink(Sup),
    U = whereis(uplink),
    Payload = list_to_binary(lists:duplicate(200, $x)),
    [gen_statem:cast(uplink, {send, I, binary:copy(Payload)}) || I <- lists:seq(1, ?EVENTS)],
    {connecting, _} = sys:get_state(uplink),   % every cast handled (postponed) by now
    bd_truth:write(bd_truth:base(postponed, postponed_events) ++
                       [{secondary_kinds, "manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {culprit_name, uplink},
                        {culprit_pid, U},
                        {postponed, ?EVENTS},
                        {state, connecting}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

callback_mode() -> state_functions.

init([]) -> {ok, connecting, #{peer => {"10.0.0.7", 7000}}}.

%% The bug: postponed until connected, and nothing ever connects.
connecting(cast, {send, _, _}, _Data) -> {keep_state_and_data, [postpone]}.

connected(cast, {send, _, _}, Data) -> {keep_state, Data}.
