# BdCrash: an Elixir application's NIF that kills the VM (samples/nif/gen.sh), for
# beamdump's native-crash tests: the library is bd_crash_nif.c built for the module
# Elixir.BdCrash.Native, loaded with :erlang.load_nif/2 from @on_load.
#
#   elixir -pa DIR -e 'BdCrash.main("null_deref")'
defmodule BdCrash.Native do
  @on_load :load
  def load, do: :erlang.load_nif(String.to_charlist(System.get_env("BD_CRASH_NIF")), 0)

  # every function of the library's table needs its stub
  for {name, arity} <- [null_deref: 1, abort_now: 0, assert_fail: 1, stack_overflow: 0,
                        dirty_crash: 0, thread_crash: 0, corrupt_term: 0, double_free: 0,
                        div_zero: 1, trap: 0, bus_error: 0, write_rodata: 0, null_call: 0,
                        libc_fault: 0, helper_fault: 0, make_conn: 0, bad_api: 1] do
    args = Macro.generate_arguments(arity, __MODULE__)
    def unquote(name)(unquote_splicing(args)), do: :erlang.nif_error(:not_loaded)
  end
end

defmodule BdCrash.Worker do
  # the Erlang caller of the NIF, a known function
  def process_batch(n), do: {:ok, BdCrash.Native.null_deref(n)}
end

defmodule BdCrash do
  def main("null_deref") do
    parent = self()
    pid = spawn(fn ->
      truth([kind: "elixir", os_pid: System.pid(), erlang_process: inspect(self()) |> pid_text(),
             signal: "SIGSEGV", c_function: "bd_bump", nif: "'Elixir.BdCrash.Native':null_deref/1",
             nif_elixir: "BdCrash.Native.null_deref/1", thread_kind: "scheduler",
             erlang_function: "'Elixir.BdCrash.Worker':process_batch/1"])
      send(parent, {self(), :go})
      receive do: (:go -> BdCrash.Worker.process_batch(3))
    end)
    receive do: ({^pid, :go} -> send(pid, :go))
    Process.sleep(10_000)
    IO.puts("bd_crash_ex: the NIF did not crash the node")
    System.halt(3)
  end

  # "#PID<0.95.0>" -> "<0.95.0>"
  defp pid_text("#PID" <> rest), do: rest

  defp truth(facts) do
    case System.get_env("BEAMDUMP_TRUTH") do
      nil -> :ok
      file -> File.write!(file, Enum.map(facts, fn {k, v} -> "#{k}=#{v}\n" end))
    end
  end
end
