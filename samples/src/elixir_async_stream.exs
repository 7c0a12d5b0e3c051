# elixir_async_stream: Task.async_stream with a huge max_concurrency floods the
# run queues with CPU-bound tasks.
#
# Run by gen.sh as:  elixir --erl "+S 2:2" -pa BUILD elixir_async_stream.exs
#
# Reports.Server (a GenServer under Reports.Supervisor) rebuilds every report on
# request in a builder process it starts (registered as Reports.Builder). The
# builder maps the reports with Task.async_stream(..., max_concurrency: 1000) "to
# go faster": a thousand CPU-bound tasks compete for the 2 schedulers and
# everything else on the node waits its turn. An operator sends SIGUSR1.

defmodule Reports.Render do
  def render(i), do: Enum.reduce(1..30_000_000, 0, fn n, acc -> rem(acc + n * i, 1_000_003) end)
end

defmodule Reports.Server do
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)
  def init(:ok), do: {:ok, %{builds: 0}}

  def handle_call(:rebuild_all, _from, state) do
    builder =
      spawn(fn ->
        1..2000
        |> Task.async_stream(&Reports.Render.render/1, max_concurrency: 1000, timeout: :infinity)
        |> Enum.to_list()
      end)

    Process.register(builder, Reports.Builder)
    {:reply, builder, %{state | builds: state.builds + 1}}
  end
end

{:ok, _sup} =
  Supervisor.start_link([Reports.Server], strategy: :one_for_one, name: Reports.Supervisor)

builder = GenServer.call(Reports.Server, :rebuild_all)
Process.sleep(1500)

:bd_truth.write(
  :bd_truth.base(:elixir_async_stream, :scheduler_overload) ++
    [
      secondary_kinds: ~c"manual_dump",
      failure: :sigusr1,
      slogan_prefix: ~c"Received SIGUSR1",
      culprit_name: Reports.Builder,
      culprit_pid: builder,
      max_concurrency: 1000,
      elixir_version: String.to_charlist(System.version())
    ]
)

System.cmd("kill", ["-USR1", System.pid()])
Process.sleep(:infinity)
