%% beamdump_guard: loads the crash guard (libbeamdump_guard.so, docs/native.md) into
%% this node as the NIF library of this module. On a fatal signal the guard writes
%% $BEAMDUMP_GUARD_DIR/beam-<pid>-<time>.bdump (default: the working directory) for
%% `beamdump core` and `beamdump analyze`.
%%
%%   beamdump_guard:start("/usr/lib/beamdump/libbeamdump_guard")   % path without .so
%%
%% Preloading the library (LD_PRELOAD) covers more (an alternate signal stack on every
%% thread, so stack overflows are caught too); loading it here as well is harmless.
-module(beamdump_guard).
-export([start/0, start/1]).

%% The library named by $BEAMDUMP_GUARD_LIB, else libbeamdump_guard on the loader's path.
-spec start() -> ok | {error, term()}.
start() ->
    start(os:getenv("BEAMDUMP_GUARD_LIB", "libbeamdump_guard")).

-spec start(file:filename()) -> ok | {error, term()}.
start(Path) ->
    Lib = case filename:extension(Path) of
              ".so" -> filename:rootname(Path);
              _ -> Path
          end,
    case erlang:load_nif(Lib, 0) of
        ok -> ok;
        {error, {reload, _}} -> ok;
        {error, {upgrade, _}} -> ok;
        {error, _} = Error -> Error
    end.
