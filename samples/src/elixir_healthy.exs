# elixir_healthy: a busy Elixir node that is fine, dumped on request.
#
# Run by gen.sh as:  elixir --erl "+S 2:2" -pa BUILD elixir_healthy.exs
#
# Shop.Application-style tree: Shop.Supervisor (one_for_one) -> Shop.Registry
# (a unique Registry, 2 partitions), Shop.CartSupervisor (a DynamicSupervisor
# with 2 000 Shop.Cart GenServers registered as {:via, Registry, {Shop.Registry,
# {:cart, id}}}), Shop.TaskSupervisor (Task.Supervisor), Shop.Config (an
# Agent read by every request) and Shop.Metrics (a GenServer with a 50 ms
# tick). Each cart keeps an idle timer (Process.send_after, cancelled and
# restarted on every request: 2 000 timers). Eight load drivers look carts up
# in the Registry and call them; each cart call reads the config Agent and
# runs a short Task under the Task.Supervisor (Task.Supervisor.async_nolink +
# Task.await). Busy, and healthy. After 1.5 s an operator sends SIGUSR1.

defmodule Shop.Config do
  use Agent
  def start_link(_), do: Agent.start_link(fn -> %{tax: 0.2, currency: "EUR"} end, name: __MODULE__)
  def get(key), do: Agent.get(__MODULE__, &Map.fetch!(&1, key))
end

defmodule Shop.Metrics do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)
  def hit, do: GenServer.cast(__MODULE__, :hit)
  @impl true
  def init(:ok) do
    Process.send_after(self(), :tick, 50)
    {:ok, %{hits: 0, ticks: 0}}
  end
  @impl true
  def handle_cast(:hit, s), do: {:noreply, %{s | hits: s.hits + 1}}
  @impl true
  def handle_info(:tick, s) do
    Process.send_after(self(), :tick, 50)
    {:noreply, %{s | ticks: s.ticks + 1}}
  end
end

defmodule Shop.Cart do
  use GenServer, restart: :transient
  @idle 60_000

  def start_link(id), do: GenServer.start_link(__MODULE__, id, name: via(id))
  def via(id), do: {:via, Registry, {Shop.Registry, {:cart, id}}}
  def add(id, item), do: GenServer.call(via(id), {:add, item})

  @impl true
  def init(id), do: {:ok, %{id: id, items: [], timer: Process.send_after(self(), :idle, @idle)}}

  @impl true
  def handle_call({:add, item}, _from, s) do
    Process.cancel_timer(s.timer)
    tax = Shop.Config.get(:tax)
    task = Task.Supervisor.async_nolink(Shop.TaskSupervisor, fn -> price(item, tax) end)
    price = Task.await(task)
    items = Enum.take([{item, price} | s.items], 20)
    {:reply, price, %{s | items: items, timer: Process.send_after(self(), :idle, @idle)}}
  end

  @impl true
  def handle_info(:idle, s), do: {:stop, :normal, s}

  defp price(item, tax), do: Float.round(rem(:erlang.phash2(item), 10_000) / 100 * (1 + tax), 2)
end

defmodule Shop.Driver do
  def run(carts) do
    id = :rand.uniform(carts)
    [{_pid, _}] = Registry.lookup(Shop.Registry, {:cart, id})
    Shop.Cart.add(id, "sku-#{:rand.uniform(50_000)}")
    Shop.Metrics.hit()
    run(carts)
  end
end

carts = 2000

children = [
  {Registry, keys: :unique, name: Shop.Registry, partitions: 2},
  {DynamicSupervisor, strategy: :one_for_one, name: Shop.CartSupervisor},
  {Task.Supervisor, name: Shop.TaskSupervisor},
  Shop.Config,
  Shop.Metrics
]

{:ok, sup} = Supervisor.start_link(children, strategy: :one_for_one, name: Shop.Supervisor)
Process.unlink(sup)

for id <- 1..carts do
  {:ok, _} = DynamicSupervisor.start_child(Shop.CartSupervisor, {Shop.Cart, id})
end

drivers = for _ <- 1..8, do: spawn(fn -> Shop.Driver.run(carts) end)
Process.sleep(1500)

:bd_truth.write(
  :bd_truth.base(:elixir_healthy, :manual_dump) ++
    [
      failure: :sigusr1,
      slogan_prefix: ~c"Received SIGUSR1",
      end_marker: ~c"=end",
      supervisor_name: Shop.Supervisor,
      carts: carts,
      drivers: drivers,
      timers_min: carts,
      process_count: :erlang.system_info(:process_count),
      elixir_version: String.to_charlist(System.version())
    ]
)

System.cmd("kill", ["-USR1", System.pid()])
Process.sleep(:infinity)
