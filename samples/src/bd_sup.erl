%% bd_sup: a plain supervisor for the sample programs: bd_sup:init({Strategy,
%% [{Id, MFA}]}) supervises one worker per {Id, MFA}.
-module(bd_sup).
-behaviour(supervisor).
-export([init/1]).

init({Strategy, Children}) ->
    {ok, {#{strategy => Strategy, intensity => 5, period => 10},
          [#{id => Id, start => MFA} || {Id, MFA} <- Children]}}.
