%% bd_crash_nif: drives a real node into a real native crash (samples/nif/gen.sh).
%%
%%   erl -noshell +S 2 -pa DIR -run bd_crash_nif main KIND
%%
%% KIND: null_deref | abort | assert | double_free | stack_overflow | dirty | thread |
%% corrupt | driver | async | div_zero | trap | bus_error | rodata | null_call | libc_fault |
%% helper_fault | resource_dtor | load | bad_api | cpp_throw | cpp_segv. The NIF library is
%% $BD_CRASH_NIF (a path without .so), the C++ one $BD_CRASH_CPP, the driver is
%% bd_crash_drv in $BD_CRASH_DRV_DIR. With $BD_CRASH_ON_LOAD set the library's load
%% callback faults (kind load: when the module is loaded). Before it crashes, the process writes the
%% facts a report must show to $BEAMDUMP_TRUTH (key=value lines).
-module(bd_crash_nif).
-export([main/1]).
-export([null_deref/1, abort_now/0, assert_fail/1, stack_overflow/0, dirty_crash/0,
         thread_crash/0, corrupt_term/0, double_free/0, div_zero/1, trap/0, bus_error/0,
         write_rodata/0, null_call/0, libc_fault/0, helper_fault/0, make_conn/0, bad_api/1]).
-on_load(init/0).

init() ->
    Info = case os:getenv("BD_CRASH_ON_LOAD") of
               false -> 0;
               _ -> truth(load), crash
           end,
    erlang:load_nif(os:getenv("BD_CRASH_NIF", "bd_crash_nif"), Info).

null_deref(_) -> erlang:nif_error(not_loaded).
abort_now() -> erlang:nif_error(not_loaded).
assert_fail(_) -> erlang:nif_error(not_loaded).
stack_overflow() -> erlang:nif_error(not_loaded).
dirty_crash() -> erlang:nif_error(not_loaded).
thread_crash() -> erlang:nif_error(not_loaded).
corrupt_term() -> erlang:nif_error(not_loaded).
double_free() -> erlang:nif_error(not_loaded).
div_zero(_) -> erlang:nif_error(not_loaded).
trap() -> erlang:nif_error(not_loaded).
bus_error() -> erlang:nif_error(not_loaded).
write_rodata() -> erlang:nif_error(not_loaded).
null_call() -> erlang:nif_error(not_loaded).
libc_fault() -> erlang:nif_error(not_loaded).
helper_fault() -> erlang:nif_error(not_loaded).
make_conn() -> erlang:nif_error(not_loaded).
bad_api(_) -> erlang:nif_error(not_loaded).

main([Kind]) ->
    Self = self(),
    Pid = spawn(fun() -> crasher(list_to_atom(Kind), Self) end),
    receive {Pid, go} -> ok end,
    Pid ! go,
    timer:sleep(10000),
    io:format("bd_crash_nif: ~s did not crash the node~n", [Kind]),
    erlang:halt(3).

crasher(Kind, Parent) ->
    register(bd_crasher, self()),
    truth(Kind),
    Parent ! {self(), go},
    receive go -> ok end,
    run(Kind).

%% Each kind is called from a function of its own, so the Erlang caller of the NIF is
%% a known function.
run(null_deref) -> process_batch(3);
run(abort) -> give_up();
run(assert) -> check_size(-1);
run(double_free) -> release_twice();
run(stack_overflow) -> descend();
run(dirty) -> crunch();
run(thread) -> start_worker(), timer:sleep(5000);
run(corrupt) -> use_corrupt_term();
run(driver) -> port_write(<<"segv">>);
run(async) -> port_write(<<"async">>), timer:sleep(5000);
run(div_zero) -> average(0);
run(trap) -> check_state();
run(bus_error) -> read_mapped();
run(rodata) -> shout();
run(null_call) -> dispatch();
run(libc_fault) -> name_length();
run(helper_fault) -> parse_config();
run(resource_dtor) -> drop_conn(), erlang:garbage_collect(), timer:sleep(5000);
run(bad_api) -> payload_size(<<"payload">>);
run(cpp_throw) -> post_amount(-5);
run(cpp_segv) -> post_amount(10).

process_batch(N) -> {ok, null_deref(N)}.
give_up() -> {ok, abort_now()}.
check_size(N) -> {ok, assert_fail(N)}.
release_twice() -> {ok, double_free()}.
descend() -> {ok, stack_overflow()}.
crunch() -> {ok, dirty_crash()}.
start_worker() -> {ok, thread_crash()}.
average(N) -> {ok, div_zero(N)}.
check_state() -> {ok, trap()}.
read_mapped() -> {ok, bus_error()}.
shout() -> {ok, write_rodata()}.
dispatch() -> {ok, null_call()}.
name_length() -> {ok, libc_fault()}.
parse_config() -> {ok, helper_fault()}.
post_amount(N) -> {ok, bd_crash_cpp:post(N)}.
payload_size(B) -> {ok, bad_api(B)}.

%% The resource's last reference goes with this call's frame: the next garbage
%% collection frees it and runs its destructor.
drop_conn() ->
    C = make_conn(),
    _ = erlang:phash2(C),
    ok.

use_corrupt_term() ->
    T = corrupt_term(),
    {ok, erlang:phash2(T)}.

port_write(Cmd) ->
    Dir = os:getenv("BD_CRASH_DRV_DIR", "."),
    ok = erl_ddll:load_driver(Dir, "bd_crash_drv"),
    Port = open_port({spawn, "bd_crash_drv"}, [binary]),
    true = port_command(Port, Cmd),
    timer:sleep(5000).

%% What the report must say, for the tests. thread kinds as beamdump names them.
expect(null_deref) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_bump"}, {nif, "bd_crash_nif:null_deref/1"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:process_batch/1"},
     {source_line, "bd_crash_nif.c:37"}];
expect(abort) ->
    [{signal, "SIGABRT"}, {c_function, "bd_give_up"}, {nif, "bd_crash_nif:abort_now/0"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:give_up/0"}];
expect(assert) ->
    [{signal, "SIGABRT"}, {c_function, "bd_check_size"}, {nif, "bd_crash_nif:assert_fail/1"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:check_size/1"},
     {abort_message, "size must be positive"}];
expect(double_free) ->
    [{signal, "SIGABRT"}, {c_function, "bd_release"}, {nif, "bd_crash_nif:double_free/0"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:release_twice/0"},
     {abort_message, "double free"}];
expect(stack_overflow) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_descend"}, {nif, "bd_crash_nif:stack_overflow/0"},
     {thread_kind, "scheduler"}, {stack_overflow, "true"}];
expect(dirty) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_heavy_sum"}, {nif, "bd_crash_nif:dirty_crash/0"},
     {thread_kind, "dirty_cpu_scheduler"}];
expect(thread) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_worker_step"}, {library, "bd_crash_nif"},
     {thread_kind, "other"}];
expect(corrupt) ->
    [{signal, "SIGSEGV"}, {in_vm, "true"}, {thread_kind, "scheduler"},
     {erlang_function, "bd_crash_nif:use_corrupt_term/0"}];
expect(driver) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_drv_store"}, {library, "bd_crash_drv"},
     {thread_kind, "scheduler"}];
expect(async) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_drv_store"}, {library, "bd_crash_drv"},
     {thread_kind, "async"}];
expect(div_zero) ->
    [{signal, "SIGFPE"}, {signal_code, "FPE_INTDIV"}, {c_function, "bd_average"},
     {nif, "bd_crash_nif:div_zero/1"}, {thread_kind, "scheduler"},
     {erlang_function, "bd_crash_nif:average/1"}, {source_line, "bd_crash_nif.c:188"}];
expect(trap) ->
    [{signal, "SIGILL"}, {c_function, "bd_check_state"}, {nif, "bd_crash_nif:trap/0"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:check_state/0"}];
expect(bus_error) ->
    [{signal, "SIGBUS"}, {c_function, "bd_sum_page"}, {nif, "bd_crash_nif:bus_error/0"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:read_mapped/0"},
     {fault_object, "bd_mapped.dat"}];
expect(rodata) ->
    [{signal, "SIGSEGV"}, {signal_code, "SEGV_ACCERR"}, {c_function, "bd_upcase"},
     {nif, "bd_crash_nif:write_rodata/0"}, {thread_kind, "scheduler"},
     {erlang_function, "bd_crash_nif:shout/0"}, {fault_object, "bd_crash_nif.so"}];
expect(null_call) ->
    [{signal, "SIGSEGV"}, {fault_address, "0x0"}, {c_function, "bd_dispatch"},
     {nif, "bd_crash_nif:null_call/0"}, {thread_kind, "scheduler"},
     {erlang_function, "bd_crash_nif:dispatch/0"}];
expect(libc_fault) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_name_length"}, {nif, "bd_crash_nif:libc_fault/0"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:name_length/0"},
     {top_object, "libc.so"}];
expect(helper_fault) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_helper_parse"}, {nif, "bd_crash_nif:helper_fault/0"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:parse_config/0"},
     {top_object, "libbd_crash_helper.so"}];
expect(resource_dtor) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_conn_flush"}, {library, "bd_crash_nif"},
     {thread_kind, "scheduler"}, {callback, "resource"}];
expect(load) ->
    [{signal, "SIGSEGV"}, {c_function, "bd_read_config"}, {library, "bd_crash_nif"},
     {callback, "load"}];
expect(bad_api) ->
    [{signal, "SIGSEGV"}, {c_function, "enif_inspect_binary"}, {nif, "bd_crash_nif:bad_api/1"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:payload_size/1"},
     {in_vm, "true"}, {vm_api, "enif_inspect_binary"}];
expect(cpp_throw) ->
    [{signal, "SIGABRT"}, {c_function, "bdcrash::Ledger::post"}, {nif, "bd_crash_cpp:post/1"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:post_amount/1"},
     {cxx_exception, "std::invalid_argument"}];
expect(cpp_segv) ->
    [{signal, "SIGSEGV"}, {c_function, "bdcrash::Ledger::post"}, {nif, "bd_crash_cpp:post/1"},
     {thread_kind, "scheduler"}, {erlang_function, "bd_crash_nif:post_amount/1"}].

truth(Kind) ->
    case os:getenv("BEAMDUMP_TRUTH") of
        false -> ok;
        File ->
            Lines = [{kind, atom_to_list(Kind)}, {os_pid, os:getpid()},
                     {erlang_process, pid_to_list(self())}
                     | expect(Kind)],
            Text = [[atom_to_list(K), $=, V, $\n] || {K, V} <- Lines],
            ok = file:write_file(File, Text)
    end.
