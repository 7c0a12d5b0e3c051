%% Top supervisor of flaky_app: at most 3 restarts in 10 s. The 4th crash of
%% its child makes it give up (exit reason shutdown), which stops the app.
-module(flaky_sup).
-behaviour(supervisor).
-export([start_link/0, init/1]).

-define(INTENSITY, 3).
-define(PERIOD, 10).

start_link() -> supervisor:start_link({local, flaky_sup}, ?MODULE, []).

init([]) ->
    bd_truth:write(bd_truth:base(supervisor, supervisor_shutdown) ++
                       [{failure, app_terminated},
                        {slogan_prefix, "Kernel pid terminated (application_controller)"},
                        {app_name, flaky_app},
                        {supervisor_name, flaky_sup},
                        {exited_supervisor_pid, self()},    % gone by dump time
                        {child_id, db_conn},
                        {child_module, flaky_worker},
                        {child_crash_reason, "{badmatch,{error,econnrefused}}"},
                        {restart_intensity, ?INTENSITY},
                        {restart_period_s, ?PERIOD}]),
    {ok, {#{strategy => one_for_one, intensity => ?INTENSITY, period => ?PERIOD},
          [#{id => db_conn, start => {flaky_worker, start_link, []},
             restart => permanent}]}}.
