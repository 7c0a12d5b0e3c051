%% statem_deadlock: two gen_statem processes that call each other.
%%
%% door (state functions: locked, open) handles the call open in state locked
%% by calling lock_ctl with gen_statem:call(lock_ctl, release, infinity).
%% lock_ctl (states engaged / released) handles release
%% in state engaged by asking door for its position with gen_statem:call(door,
%% position, infinity): door is inside its own call and cannot answer, so both
%% wait for ever. door_client, which asked the door to open, hangs behind door;
%% alarm_panel, which calls lock_ctl for its status, hangs behind lock_ctl.
%% An operator sends SIGUSR1.
-module(bd_statem_deadlock).
-behaviour(gen_statem).
-export([start/0]).
-export([callback_mode/0, init/1, locked/3, open/3, engaged/3, released/3]).

start() ->
    {ok, Sup} = supervisor:start_link({local, access_sup}, bd_sup, {one_for_all,
                  [{door, {gen_statem, start_link, [{local, door}, ?MODULE, door, []]}},
                   {lock_ctl, {gen_statem, start_link, [{local, lock_ctl}, ?MODULE, lock_ctl, []]}}]}),
    unlink(Sup),
    Client = spawn(fun() -> register(door_client, self()),
                            gen_statem:call(door, open, infinity) end),
    Door = whereis(door),
    Ctl = whereis(lock_ctl),
    bd_truth:wait_until("door and lock_ctl in their calls", fun() ->
        bd_truth:waiting_in(Door, {gen, do_call, 4}) andalso bd_truth:waiting_in(Ctl, {gen, do_call, 4})
    end),
    Panel = spawn(fun() -> register(alarm_panel, self()),
                           gen_statem:call(lock_ctl, status, infinity) end),
    bd_truth:wait_until("alarm_panel queued on lock_ctl", fun() ->
        bd_truth:waiting_in(Panel, {gen, do_call, 4})
            andalso process_info(Ctl, message_queue_len) =:= {message_queue_len, 1}
    end),
    bd_truth:write(bd_truth:base(statem_deadlock, deadlock) ++
                       [{secondary_kinds, "blocked_call,manual_dump"},
                        {failure, sigusr1},
                        {slogan_prefix, "Received SIGUSR1"},
                        {deadlock_a, Door}, {deadlock_a_name, door},
                        {deadlock_a_state, locked},
                        {deadlock_b, Ctl}, {deadlock_b_name, lock_ctl},
                        {deadlock_b_state, engaged},
                        {blocked_client, Client}, {blocked_client_name, door_client},
                        {blocked_client_callee, door},
                        {blocked_reporter, Panel}, {blocked_reporter_name, alarm_panel},
                        {blocked_reporter_callee, lock_ctl}]),
    os:cmd("kill -USR1 " ++ os:getpid()),
    ok.

callback_mode() -> state_functions.

init(door) -> {ok, locked, #{opened => 0}};
init(lock_ctl) -> {ok, engaged, #{releases => 0}}.

%% door
locked({call, From}, open, Data = #{opened := N}) ->
    ok = gen_statem:call(lock_ctl, release, infinity),      % waits for lock_ctl
    {next_state, open, Data#{opened := N + 1}, [{reply, From, ok}]};
locked({call, From}, position, _Data) ->
    {keep_state_and_data, [{reply, From, closed}]}.

open({call, From}, position, _Data) ->
    {keep_state_and_data, [{reply, From, open}]}.

%% lock_ctl
engaged({call, From}, release, Data = #{releases := N}) ->
    closed = gen_statem:call(door, position, infinity),   % door is waiting for us
    {next_state, released, Data#{releases := N + 1}, [{reply, From, ok}]};
engaged({call, From}, status, _Data) ->
    {keep_state_and_data, [{reply, From, engaged}]}.

released({call, From}, status, _Data) ->
    {keep_state_and_data, [{reply, From, released}]}.
