# elixir_agent: an Agent doing slow work inside its own update function while
# thousands of callers wait for it.
#
# Run by gen.sh as:  elixir --erl "+S 2:2" -pa BUILD elixir_agent.exs
#
# Quotes.Cache is an Agent (under Quotes.Supervisor) holding the latest price
# of a few symbols. Its refresh runs Agent.update(Quotes.Cache, fn state -> ...
# end) and fetches every quote from a slow upstream service (200 ms each)
# INSIDE the update function, that is inside the Agent process. While it runs,
# -- about 20 s -- nobody can read a price: 1 200 request handlers call
# Agent.get(Quotes.Cache, ...) and wait. An operator sends SIGUSR1 after 1 s.

defmodule Quotes.Upstream do
  # A slow HTTP call, as far as the Agent can tell.
  def fetch(symbol) do
    Process.sleep(200)
    {symbol, :erlang.phash2(symbol, 10_000) / 100}
  end
end

defmodule Quotes.Cache do
  use Agent

  @symbols for i <- 1..100, do: "SYM#{i}"

  def start_link(_), do: Agent.start_link(fn -> %{quotes: %{}, refreshed: 0} end, name: __MODULE__)

  # The bug: the slow fetches run inside the Agent, blocking every reader.
  def refresh do
    Agent.update(__MODULE__, fn state ->
      quotes = Map.new(@symbols, &Quotes.Upstream.fetch/1)
      %{state | quotes: quotes, refreshed: state.refreshed + 1}
    end, :infinity)
  end

  def price(symbol), do: Agent.get(__MODULE__, fn state -> state.quotes[symbol] end)
end

defmodule Quotes.Handler do
  def start(i), do: spawn(fn -> Quotes.Cache.price("SYM#{rem(i, 100) + 1}") end)
end

{:ok, _sup} =
  Supervisor.start_link([Quotes.Cache], strategy: :one_for_one, name: Quotes.Supervisor)

agent = Process.whereis(Quotes.Cache)
refresher = spawn(fn -> Quotes.Cache.refresh() end)
# The Agent runs the update (a fetch sleeps) before the readers come, and every
# reader's call is in its queue before the dump, however slow the machine.
:bd_truth.wait_until(~c"the Agent inside its update", fn ->
  :bd_truth.waiting_in(agent, {Process, :sleep, 1})
end)
handlers = for i <- 1..1200, do: Quotes.Handler.start(i)
:bd_truth.wait_until(~c"every reader queued on the Agent", fn ->
  {:message_queue_len, n} = Process.info(agent, :message_queue_len)
  n >= length(handlers)
end)

{:message_queue_len, queued} = Process.info(agent, :message_queue_len)
{:current_function, {m, f, a}} = Process.info(agent, :current_function)

:bd_truth.write(
  :bd_truth.base(:elixir_agent, :blocked_call) ++
    [
      secondary_kinds: ~c"mailbox_overload,manual_dump",
      failure: :sigusr1,
      slogan_prefix: ~c"Received SIGUSR1",
      culprit_name: Quotes.Cache,
      culprit_pid: agent,
      agent_module: Quotes.Cache,
      slow_function: ~c"Elixir.Quotes.Upstream:fetch/1",
      current_function: String.to_charlist("#{m}:#{f}/#{a}"),
      updater_pid: refresher,
      waiters_min: length(handlers),
      first_waiter: hd(handlers),
      message_queue_len_seen: queued,
      elixir_version: String.to_charlist(System.version())
    ]
)

System.cmd("kill", ["-USR1", System.pid()])
Process.sleep(:infinity)
