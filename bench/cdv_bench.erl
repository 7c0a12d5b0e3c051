%% cdv_bench: time OTP's crashdump_viewer headless, with the calls its GUI makes.
%%
%% Usage:
%%   erlc -o OUT bench/cdv_bench.erl
%%   erl -noshell -pa OUT -s cdv_bench main -extra FILE [--skip-details]
%%       [--timeout SECONDS] [--proc NAME]
%% (-extra, because erl would take "--option" words after -run as its own flags.)
%% Prints one line per step on stdout, tab-separated:
%%   cdv <TAB> step <TAB> elapsed ms (or ">N" on timeout) <TAB> VM peak RSS MB so far
%% Steps: read_file (the async index pass, timed until the server reports
%% {ok,done}), general_info, processes, ets_tables, proc_details (of the process
%% registered as NAME, default big_mbox).  Each step is bounded by --timeout
%% (default 600 s); a step that times out is printed as ">N" and the VM halts.
-module(cdv_bench).
-export([main/0, main/1]).

main() ->
    main(init:get_plain_arguments()).

main([File | Opts]) ->
    Cfg = opts(Opts, #{details => true, timeout => 600, proc => "big_mbox"}),
    #{timeout := TimeoutS} = Cfg,
    {ok, _} = crashdump_viewer:start_link(),
    step(read_file, TimeoutS, fun() -> read_file(File) end),
    step(general_info, TimeoutS, fun crashdump_viewer:general_info/0),
    {ok, Procs, _} = step(processes, TimeoutS, fun crashdump_viewer:processes/0),
    io:format("cdv\tprocess_count\t~b\t-~n", [length(Procs)]),
    step(ets_tables, TimeoutS, fun() -> crashdump_viewer:ets_tables(all) end),
    case Cfg of
        #{details := true, proc := Name} ->
            Pid = find_pid(Name, Procs),
            step(proc_details, TimeoutS,
                 fun() -> crashdump_viewer:proc_details(Pid) end);
        _ -> ok
    end,
    erlang:halt(0).

opts([], Cfg) -> Cfg;
opts(["--skip-details" | T], Cfg) -> opts(T, Cfg#{details := false});
opts(["--timeout", S | T], Cfg) -> opts(T, Cfg#{timeout := list_to_integer(S)});
opts(["--proc", N | T], Cfg) -> opts(T, Cfg#{proc := N});
opts([Bad | _], _) ->
    io:format(standard_error, "cdv_bench: unknown option ~s~n", [Bad]),
    erlang:halt(2).

%% read_file/1 is a cast; the server reports {progress,{ok,done}} to a process
%% registered as cdv_progress_handler when indexing ends (observer_lib), so we
%% stand in for the GUI's progress dialog.
read_file(File) ->
    register(cdv_progress_handler, self()),
    ok = crashdump_viewer:read_file(File),
    Result = wait_done(),
    unregister(cdv_progress_handler),
    Result.

wait_done() ->
    receive
        {progress, {ok, done}} -> ok;
        {progress, {error, _} = Err} -> exit(Err);
        {progress, _} -> wait_done()
    end.

%% #proc{} is {proc, Pid, Name, ...} (observer/src/crashdump_viewer.hrl).
find_pid(Name, Procs) ->
    case [P || P <- Procs, lists:member(element(3, P), [Name, list_to_atom(Name)])] of
        [P | _] -> pid_to_list(element(2, P));
        [] ->
            io:format(standard_error, "cdv_bench: no process named ~s~n", [Name]),
            erlang:halt(1)
    end.

%% Run Fun in this process but under a watchdog, so a step that hangs for
%% ages still yields a number (">N").
step(Name, TimeoutS, Fun) ->
    Watchdog = spawn(fun() ->
                         receive done -> ok
                         after TimeoutS * 1000 ->
                             io:format("cdv\t~s\t>~b\t~b~n",
                                       [Name, TimeoutS * 1000, peak_rss_mb()]),
                             erlang:halt(3)
                         end
                     end),
    T0 = erlang:monotonic_time(millisecond),
    Result = Fun(),
    Ms = erlang:monotonic_time(millisecond) - T0,
    Watchdog ! done,
    io:format("cdv\t~s\t~b\t~b~n", [Name, Ms, peak_rss_mb()]),
    Result.

%% Peak resident set of this VM so far (Linux VmHWM), in MB.
peak_rss_mb() ->
    case file:read_file("/proc/self/status") of
        {ok, Status} ->
            case re:run(Status, "VmHWM:\\s+(\\d+) kB", [{capture, all_but_first, list}]) of
                {match, [Kb]} -> list_to_integer(Kb) div 1024;
                nomatch -> 0
            end;
        _ -> 0
    end.
