%% Application callback of the "supervisor" scenario (see bd_supervisor).
-module(flaky_app).
-behaviour(application).
-export([start/2, stop/1]).

start(_Type, _Args) -> flaky_sup:start_link().
stop(_State) -> ok.
