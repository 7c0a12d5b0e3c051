#!/usr/bin/env bash
# stage_alarm.sh OUTDIR: a real RabbitMQ (the Debian rabbitmq-server) under a memory
# alarm, dumped by the VM.
#
# Starts a private broker on loopback (node diagnew@localhost, AMQP 5773, distribution
# 25773, everything under OUTDIR/rmq), with a memory high watermark a few MB above
# what it uses once booted. 20 publishers (publishers.py, python3-pika) publish 16 kB
# messages to the queue 'orders', which nobody consumes: memory passes the watermark,
# vm_memory_monitor raises the resource alarm {resource_limit,memory,Node} and every
# publishing connection is blocked (its reader stops reading the socket). Once all 20
# are blocked, the truth is read from the live node (rabbitmqctl), and SIGUSR1 makes
# the VM write OUTDIR/rabbit_alarm.dump. Writes OUTDIR/rabbit_alarm.truth.
#
# HEALTHY=1: the same broker and load without the alarm (watermark 2 GB), with 8
# consumers on the queue: 10 s of traffic, then SIGUSR1 (OUTDIR/rabbit_busy.dump): a
# busy, healthy broker.
#
# BEAMDUMP=path/to/beamdump: also a live capture of the broker in that state, just
# before the dump (OUTDIR/NAME.bdump): `analyze` must say the same of both.
#
# Needs: rabbitmq-server, python3-pika (not installed by scripts/deps.sh: this is run
# by hand; its dump is kept compressed in tests/fixtures/analyze/).
set -u
OUT=$(mkdir -p "$1" && cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
PUBLISHERS=${PUBLISHERS:-20}
BODY=${BODY:-16384}
MARGIN_MB=${MARGIN_MB:-6}
R=$OUT/rmq
rm -rf "$R"
mkdir -p "$R/home" "$R/log" "$R/mnesia"
export HOME=$R/home
# One cookie for the broker and the CLI, written before either starts.
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$HOME/.erlang.cookie"
chmod 400 "$HOME/.erlang.cookie"
export RABBITMQ_NODENAME=diagnew@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=5773 RABBITMQ_DIST_PORT=25773
export RABBITMQ_MNESIA_BASE=$R/mnesia RABBITMQ_LOG_BASE=$R/log
export RABBITMQ_PID_FILE=$R/pid RABBITMQ_ENABLED_PLUGINS_FILE=$R/enabled_plugins
export RABBITMQ_CONFIG_FILE=$R/rabbitmq RABBITMQ_ADVANCED_CONFIG_FILE=$R/advanced.config
export RABBITMQ_CONF_ENV_FILE=$R/rabbitmq-env.conf
NAME=rabbit_alarm
[ "${HEALTHY:-0}" = 1 ] && NAME=rabbit_busy
export ERL_CRASH_DUMP=$OUT/$NAME.dump
echo "[]." > "$R/enabled_plugins"
echo "[]." > "$R/advanced.config"
: > "$R/rabbitmq-env.conf"
cat > "$R/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:5773
loopback_users.guest = true
vm_memory_high_watermark.absolute = 2GB
vm_memory_high_watermark_paging_ratio = 0.99
log.console = false
log.file.level = info
CONF
# The Debian wrappers in /usr/sbin switch to the rabbitmq user and its HOME (another
# cookie); the scripts behind them run as the caller.
BIN=/usr/lib/rabbitmq/bin
ctl() { "$BIN/rabbitmqctl" -n diagnew@localhost "$@"; }

"$BIN/rabbitmq-server" > "$R/server.out" 2>&1 &
SERVER=$!
PUB=
trap '[ -n "$PUB" ] && kill $PUB 2>/dev/null; kill $SERVER 2>/dev/null' EXIT
# await_startup gives up at once while the node is not yet registered with epmd.
for _ in $(seq 1 300); do
    ctl ping >/dev/null 2>&1 && break
    kill -0 $SERVER 2>/dev/null || break
    sleep 1
done
ctl await_startup --timeout 300 >/dev/null || { echo "broker did not start"; cat "$R/server.out"; exit 1; }
BEAM=$(cat "$R/pid")
# The monitor counts the OS process's memory (RSS by default), not erlang:memory().
BASE=$(ctl eval 'vm_memory_monitor:get_process_memory().' | tr -d '"')
LIMIT=$((BASE + MARGIN_MB * 1048576))
[ "$NAME" = rabbit_busy ] && LIMIT=2147483648
ctl eval "vm_memory_monitor:set_vm_memory_high_watermark({absolute, $LIMIT})." >/dev/null

CONSUMERS=0
[ "$NAME" = rabbit_busy ] && CONSUMERS=${CONSUMERS_BUSY:-8}
/usr/bin/python3 "$HERE/publishers.py" 5773 "$PUBLISHERS" "$BODY" "$CONSUMERS" > "$R/publishers.out" 2>&1 &
PUB=$!
blocked=0
[ "$NAME" = rabbit_busy ] && sleep 10
for _ in $(seq 1 120); do
    [ "$NAME" = rabbit_busy ] && break
    sleep 0.5
    blocked=$(ctl list_connections state 2>/dev/null | grep -c '^blocked$')
    [ "$blocked" -ge "$PUBLISHERS" ] && break
done
sleep 1
ALARMS=$(ctl eval 'rabbit_alarm:get_alarms().' | tr -d '\n ')
# Pids as the broker itself prints them (<0.N.0>), like the dump.
QPID=$(ctl eval '{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"orders">>)), pid_to_list(amqqueue:get_pid(Q)).' | tr -d '"')
READERS=$(ctl eval 'lists:flatten(lists:join(",", [pid_to_list(element(2, lists:keyfind(pid, 1, C))) || C <- rabbit_networking:connection_info_all([pid, state]), lists:keyfind(state, 1, C) =:= {state, blocked}])).' | tr -d '"\n ')
MONITOR=$(ctl eval 'pid_to_list(whereis(vm_memory_monitor)).' | tr -d '"')
cat > "$OUT/$NAME.truth" <<TRUTH
scenario=$NAME
expected_kind=$([ "$NAME" = rabbit_busy ] && echo manual_dump || echo memory_alarm)
failure=sigusr1
slogan_prefix=Received SIGUSR1
broker=rabbitmq-server $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null)
otp_release=$(ctl eval 'erlang:system_info(otp_release).' | tr -d '"')
node=diagnew@localhost
publishers=$PUBLISHERS
blocked_connections=$blocked
blocked_reader_pids=$READERS
alarms=$ALARMS
memory_limit=$LIMIT
memory_at_boot=$BASE
memory_seen=$(ctl eval 'vm_memory_monitor:get_process_memory().')
erlang_memory_total=$(ctl eval 'erlang:memory(total).')
queue_name=orders
queue_pid=$QPID
monitor_pid=$MONITOR
watermark={absolute,$LIMIT}
queue_messages=$(ctl list_queues name messages 2>/dev/null | awk '$1=="orders"{print $2}')
TRUTH
if [ -n "${BEAMDUMP:-}" ]; then
    "$BEAMDUMP" capture --node diagnew@localhost --cookie-file "$HOME/.erlang.cookie" \
        -o "$OUT/$NAME.bdump" || echo "capture failed"
fi
kill -USR1 "$BEAM"
for _ in $(seq 1 1200); do   # a busy broker's dump takes a while to write
    kill -0 "$BEAM" 2>/dev/null || break
    sleep 0.5
done
kill $PUB 2>/dev/null
tail -n 1 "$OUT/$NAME.dump"
cat "$OUT/$NAME.truth"
