# elixir_proc_limit: process-table exhaustion in an Elixir node.
#
# Run by gen.sh as:  elixir --erl "+P 1024 +S 2:2" -pa BUILD elixir_proc_limit.exs
# (+P 1024 is the smallest process limit the VM accepts.)
#
# Ingest.Listener is a GenServer that starts one Task per incoming request.
# Each task waits for an acknowledgement that never comes (the bug), so the
# tasks pile up until spawning fails with a system_limit error. The listener
# rescues that error and halts the node with a crash dump, the way a
# "let it crash, but loudly" service would:
#   "ingest: cannot spawn request handler: system_limit (...)"
# The truth file is written through the Erlang helper :bd_truth (raw file
# I/O, which needs no new process and so still works at the limit).

defmodule Ingest.Listener do
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  @impl true
  def init(:ok) do
    send(self(), :accept)
    {:ok, %{handled: 0, first: nil}}
  end

  @impl true
  def handle_info(:accept, %{handled: n, first: first} = state) do
    try do
      {:ok, pid} = Task.start(fn -> handle_request(n) end)
      first = first || pid
      if rem(n, 50) == 0, do: write_truth(n + 1, first)
      send(self(), :accept)
      {:noreply, %{state | handled: n + 1, first: first}}
    rescue
      e in SystemLimitError ->
        write_truth(n, first)
        System.halt(
          "ingest: cannot spawn request handler: system_limit " <>
            "(#{Exception.message(e)}; process_count=#{:erlang.system_info(:process_count)}, " <>
            "limit=#{:erlang.system_info(:process_limit)})"
        )
    end
  end

  # Waits for an ack from a downstream service that never replies.
  defp handle_request(n) do
    receive do
      {:ack, ^n} -> :ok
    end
  end

  # Initial call of a leaked task, read from the first task's process
  # dictionary (as the dump shows it): Elixir.Ingest.Listener:-handle_info/2-fun-0-/0.
  defp initial_call(task) do
    with {:dictionary, d} <- Process.info(task, :dictionary),
         {m, f, a} <- d[:"$initial_call"] do
      ~c"#{m}:#{f}/#{a}"
    else
      _ -> ~c"unknown"
    end
  end

  defp write_truth(leaked, first) do
    :bd_truth.write(
      :bd_truth.base(:elixir_proc_limit, :process_limit) ++
        [
          failure: :halt_on_system_limit,
          slogan_prefix: ~c"ingest: cannot spawn request handler: system_limit",
          culprit_name: __MODULE__,
          culprit_pid: self(),
          leaked_initial_call: initial_call(first),
          leaked_ancestor: __MODULE__,
          leaked_tasks_min: leaked,
          process_count_seen: :erlang.system_info(:process_count),
          elixir_version: String.to_charlist(System.version())
        ]
    )
  end
end

{:ok, _} = Ingest.Listener.start_link([])
Process.sleep(:infinity)
