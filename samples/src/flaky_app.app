%% Minimal application resource file for the "supervisor" scenario.
%% gen.sh copies it next to the compiled .beam files.
{application, flaky_app,
 [{description, "beamdump sample: a permanent app whose supervisor gives up"},
  {vsn, "1.0.0"},
  {modules, [flaky_app, flaky_sup, flaky_worker]},
  {registered, [flaky_sup, db_conn]},
  {applications, [kernel, stdlib]},
  {mod, {flaky_app, []}}]}.
