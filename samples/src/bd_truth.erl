%% bd_truth: writes NAME.truth, the facts a sample program knows about its own
%% live node (pids, names, counts), so tests compare the analyzer against the
%% truth of that very run instead of hard-coded numbers.
%%
%% The file is plain "key=value" lines. It is rewritten whole each time
%% (write to NAME.truth.tmp, then rename), so a reader never sees half a file
%% even when the node dies a microsecond later.
%%
%% Raw file I/O on purpose: raw files are handled by the calling process (no
%% file_io_server process is spawned), so writing still works when the process
%% table is full (process-limit scenarios) or memory is nearly exhausted.
-module(bd_truth).
-export([write/1, base/2, path/0, wait_until/2, waiting_in/2, run_queues_empty/0]).

%% Path of the truth file: $BEAMDUMP_TRUTH, or false when not set (then the
%% program still runs, it just keeps no record).
path() -> os:getenv("BEAMDUMP_TRUTH").

%% Keys every scenario writes first.
base(Scenario, ExpectedKind) ->
    [{scenario, Scenario},
     {expected_kind, ExpectedKind},
     {otp_release, erlang:system_info(otp_release)},
     {erts_version, erlang:system_info(version)},
     {word_size, erlang:system_info(wordsize)},
     {schedulers, erlang:system_info(schedulers)},
     {os_pid, os:getpid()},
     {atom_limit, erlang:system_info(atom_limit)},
     {process_limit, erlang:system_info(process_limit)},
     {port_limit, erlang:system_info(port_limit)}].

write(KVs) ->
    case path() of
        false -> ok;
        Path ->
            Tmp = Path ++ ".tmp",
            Data = [[str(K), $=, str(V), $\n] || {K, V} <- KVs],
            {ok, F} = file:open(Tmp, [raw, write, binary]),
            ok = file:write(F, Data),
            ok = file:close(F),
            ok = file:rename(Tmp, Path)
    end.

str(A) when is_atom(A) -> atom_to_list(A);
str(I) when is_integer(I) -> integer_to_list(I);
str(P) when is_pid(P) -> pid_to_list(P);
str(P) when is_port(P) -> erlang:port_to_list(P);
str(B) when is_binary(B) -> B;
str([]) -> "";
%% a list of pids/atoms/ints becomes a comma-separated list; a string stays a string
str([H | _] = L) when is_pid(H); is_atom(H); is_port(H) ->
    lists:join($,, [str(X) || X <- L]);
str(L) when is_list(L) -> L.

%% Wait until Cond() holds, polled every 10 ms: the state the truth describes is
%% reached before the node dumps, on a fast idle box as on a slow loaded one (a
%% fixed sleep is either too long or, under load, too short). If it never comes
%% (30 s), the node halts with a slogan no scenario expects, so gen.sh retries
%% instead of keeping a dump of some other moment.
wait_until(What, Cond) -> wait_until(What, Cond, 3000).

wait_until(What, _Cond, 0) ->
    erlang:halt(lists:flatten(["sample: state not reached: ", What]));
wait_until(What, Cond, N) ->
    case Cond() of
        true -> ok;
        false -> timer:sleep(10), wait_until(What, Cond, N - 1)
    end.

%% Is Pid waiting (in a receive) in function {M, F, A}?
waiting_in(Pid, MFA) ->
    process_info(Pid, [status, current_function]) =:= [{status, waiting}, {current_function, MFA}].

%% No process waits in a run queue: whatever was spawned or woken has run and
%% reached its receive (the caller itself is running, not queued).
run_queues_empty() ->
    erlang:statistics(total_run_queue_lengths_all) =:= 0.
