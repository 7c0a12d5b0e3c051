%% bd_crash_cpp: the Erlang side of the C++ NIF library $BD_CRASH_CPP
%% (samples/nif/bd_crash_cpp.cc), called by bd_crash_nif's cpp_* kinds.
-module(bd_crash_cpp).
-export([post/1]).
-on_load(init/0).

init() ->
    erlang:load_nif(os:getenv("BD_CRASH_CPP", "bd_crash_cpp"), 0).

post(_) -> erlang:nif_error(not_loaded).
