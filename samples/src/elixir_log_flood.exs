# elixir_log_flood: a flood of Logger calls overloads Elixir's Logger.
#
# Run by gen.sh as:  elixir --erl "+S 2:2" -pa BUILD elixir_log_flood.exs
#
# Ingest.Dispatcher (a GenServer under Ingest.Supervisor) starts a worker per
# batch; a debugging Logger.warning with the whole batch inspected was left in
# the worker's loop. 150 workers log as fast as they can: Logger switches to
# sync mode and then discards, the console falls behind, and the workers spend
# their time formatting and waiting for Logger. An operator sends SIGUSR1.

defmodule Ingest.Worker do
  require Logger

  def run(i), do: loop(i, 0)

  defp loop(i, n) do
    batch = %{id: {i, n}, rows: Enum.to_list(1..40), source: "sensor-#{i}"}
    Logger.warning("ingest step #{n} for batch #{inspect(batch)}")
    loop(i, n + 1)
  end
end

defmodule Ingest.Dispatcher do
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)
  def init(:ok), do: {:ok, %{workers: []}}

  def handle_call({:start, n}, _from, state) do
    pids = for i <- 1..n, do: spawn_link(Ingest.Worker, :run, [i])
    {:reply, :ok, %{state | workers: pids}}
  end
end

{:ok, _sup} =
  Supervisor.start_link([Ingest.Dispatcher], strategy: :one_for_one, name: Ingest.Supervisor)

dispatcher = Process.whereis(Ingest.Dispatcher)
:ok = GenServer.call(Ingest.Dispatcher, {:start, 150})
Process.sleep(1500)

logger = Process.whereis(Logger)
{:message_queue_len, queued} = Process.info(logger, :message_queue_len)

:bd_truth.write(
  :bd_truth.base(:elixir_log_flood, :logger_overload) ++
    [
      secondary_kinds: ~c"scheduler_overload,manual_dump",
      failure: :sigusr1,
      slogan_prefix: ~c"Received SIGUSR1",
      culprit_name: Ingest.Dispatcher,
      culprit_pid: dispatcher,
      handler_pid: logger,
      handler_queue_seen: queued,
      workers: 150,
      worker_initial_call: ~c"Elixir.Ingest.Worker:run/1",
      elixir_version: String.to_charlist(System.version())
    ]
)

System.cmd("kill", ["-USR1", System.pid()])
Process.sleep(:infinity)
