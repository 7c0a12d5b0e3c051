#!/usr/bin/env bash
# broker.sh: a real RabbitMQ broker (Debian's rabbitmq-server 3.10) on loopback,
# driven into three states by bounded AMQP loops (load.py, python3-pika), each
# captured live (beamdump capture) and dumped by the VM (SIGUSR1):
#
#   healthy  balanced producers and consumers          -> no critical finding
#   busy     more and larger messages, 8 consumers     -> still nothing at warning level
#   backlog  100,000 messages in 'orders', no consumer  -> the orders queue first
#   alarm    vm_memory_high_watermark hit, 20 publishers blocked (memory alarm)
#
#   samples/rabbitmq/broker.sh OUTDIR [healthy] [busy] [backlog] [alarm]   (default: all)
#
# Needs: rabbitmq-server and python3-pika (apt-get install rabbitmq-server
# python3-pika; the Debian service need not run), and a built beamdump
# ($BEAMDUMP, default build/beamdump; $BEAMDUMP_COMPARE: a second build that also
# captures, for before/after). Not part of `make check`: it takes about three minutes. Everything runs as the calling user under OUTDIR: its own HOME (so its
# own .erlang.cookie), node name, ports on 127.0.0.1, mnesia and logs. Writes, per
# state S: OUTDIR/rmq-S.bdump (capture), OUTDIR/rmq-S.dump (the VM's dump),
# OUTDIR/rmq-S.analyze.txt, and OUTDIR/rmq-S.truth (what the driver knew).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BD=${BEAMDUMP:-$ROOT/build/beamdump}
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [healthy] [backlog] [alarm]" >&2; exit 2; }
OUT=$(mkdir -p "$1" && cd "$1" && pwd); shift
STATES=${*:-healthy busy backlog alarm}
SBIN=/usr/lib/rabbitmq/bin
PY=/usr/bin/python3
for t in "$SBIN/rabbitmq-server" "$SBIN/rabbitmqctl" "$BD"; do
    [ -x "$t" ] || { echo "broker.sh: $t not found" >&2; exit 1; }
done
$PY -c 'import pika' 2>/dev/null || { echo "broker.sh: python3-pika missing" >&2; exit 1; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

NODE_PID=""; LOAD_PID=""
cleanup() {
    [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
    [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && sleep 1 && kill -9 "$NODE_PID" 2>/dev/null
    return 0
}
trap cleanup EXIT

# start_broker STATE: a fresh broker; sets NODE, PORT, NODE_PID, COOKIE
start_broker() {
    local s=$1 base="$OUT/rmq-$1.d"
    rm -rf "$base"; mkdir -p "$base/home" "$base/log" "$base/mnesia"
    PORT=$(free_port)
    NODE="bdrmq$$$s@localhost"
    cat > "$base/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$PORT
loopback_users = none
log.file.level = warning
vm_memory_high_watermark.relative = 0.4
CONF
    echo "[]." > "$base/enabled_plugins"
    export HOME="$base/home" RABBITMQ_NODENAME="$NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$PORT" RABBITMQ_DIST_PORT="$(free_port)" \
        RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+S 2:2 -kernel inet_dist_use_interface {127,0,0,1}" \
        ERL_CRASH_DUMP="$OUT/rmq-$s.dump" ERL_CRASH_DUMP_SECONDS=60
    rm -f "$OUT/rmq-$s.dump"
    # From its own directory: a broker that dies writes MnesiaCore.* files into its cwd.
    (cd "$base" && exec "$SBIN/rabbitmq-server" > "$base/server.out" 2>&1 < /dev/null) &
    local up=0
    for _ in $(seq 1 90); do   # the node answers only once its distribution is up
        if "$SBIN/rabbitmqctl" -n "$NODE" await_startup --timeout 5 >/dev/null 2>&1; then
            up=1; break
        fi
        sleep 1
    done
    if [ $up = 0 ]; then
        echo "broker.sh: $s: the broker did not start (see $base/server.out)" >&2; return 1
    fi
    NODE_PID=$("$SBIN/rabbitmqctl" -n "$NODE" eval 'os:getpid().' 2>/dev/null | tr -dc '0-9')
    COOKIE="$HOME/.erlang.cookie"
}

# load STATE ARG: load.py in the background until it prints "ready"
start_load() {
    local s=$1
    $PY "$HERE/load.py" "$PORT" "$s" "$2" > "$OUT/rmq-$s.load" 2>&1 &
    LOAD_PID=$!
    for _ in $(seq 1 600); do
        grep -q ready "$OUT/rmq-$s.load" 2>/dev/null && return 0
        kill -0 $LOAD_PID 2>/dev/null || break
        sleep 0.5
    done
    echo "broker.sh: $s: load did not get ready:" >&2; cat "$OUT/rmq-$s.load" >&2; return 1
}

# The publishers are running: put the watermark 32 MB above what the node uses now,
# so the queue grows to it and the broker blocks every publisher. Waits (60 s at most)
# until rabbitmqctl lists blocked connections.
raise_alarm() {
    local total
    total=$("$SBIN/rabbitmqctl" -n "$NODE" eval 'erlang:memory(total).' 2>/dev/null | tr -dc '0-9')
    "$SBIN/rabbitmqctl" -n "$NODE" set_vm_memory_high_watermark absolute \
        "$(( (total + 32 * 1024 * 1024) / 1024 / 1024 ))MB" >/dev/null
    for _ in $(seq 1 60); do
        BLOCKED=$("$SBIN/rabbitmqctl" -n "$NODE" list_connections state 2>/dev/null | grep -c '^blocked')
        [ "$BLOCKED" -ge 20 ] && break
        sleep 1
    done
    echo "blocked connections: $BLOCKED" >> "$OUT/rmq-alarm.load"
    "$SBIN/rabbitmqctl" -n "$NODE" eval 'rabbit_alarm:get_alarms().' >> "$OUT/rmq-alarm.load" 2>&1
}

capture_and_dump() {
    local s=$1
    "$BD" capture --node "$NODE" --cookie-file "$COOKIE" -o "$OUT/rmq-$s.bdump"
    # $BEAMDUMP_COMPARE: another beamdump build captures too (before/after a change)
    if [ -n "${BEAMDUMP_COMPARE:-}" ]; then
        "$BEAMDUMP_COMPARE" capture --node "$NODE" --cookie-file "$COOKIE" -o "$OUT/rmq-$s.compare.bdump"
        "$BEAMDUMP_COMPARE" analyze "$OUT/rmq-$s.compare.bdump" > "$OUT/rmq-$s.compare.txt" 2>&1
        "$BEAMDUMP_COMPARE" top --by binary -n 5 "$OUT/rmq-$s.compare.bdump" >> "$OUT/rmq-$s.compare.txt" 2>&1
    fi
    "$SBIN/rabbitmqctl" -n "$NODE" list_queues name messages consumers memory > "$OUT/rmq-$s.queues" 2>&1
    "$SBIN/rabbitmqctl" -n "$NODE" eval 'erlang:memory(binary).' > "$OUT/rmq-$s.binary" 2>&1
    kill -USR1 "$NODE_PID"
    for _ in $(seq 1 240); do
        kill -0 "$NODE_PID" 2>/dev/null || break
        sleep 0.5
    done
    NODE_PID=""
    kill "$LOAD_PID" 2>/dev/null; LOAD_PID=""
    {
        echo "state=$s"; echo "node=$NODE"
        echo "binary_memory_at_capture=$(tr -d '\n' < "$OUT/rmq-$s.binary")"
        sed 's/^/queue: /' "$OUT/rmq-$s.queues"
        grep -h "blocked\|published\|publishing\|memory" "$OUT/rmq-$s.load" 2>/dev/null
    } > "$OUT/rmq-$s.truth"
    for f in "$OUT/rmq-$s.bdump" "$OUT/rmq-$s.dump"; do
        [ -s "$f" ] || continue
        echo "== beamdump analyze $f" >> "$OUT/rmq-$s.analyze.txt"
        "$BD" analyze "$f" >> "$OUT/rmq-$s.analyze.txt" 2>&1
        echo "== beamdump top --by binary -n 5 $f" >> "$OUT/rmq-$s.analyze.txt"
        "$BD" top --by binary -n 5 "$f" >> "$OUT/rmq-$s.analyze.txt" 2>&1
    done
}

rc=0
for s in $STATES; do
    rm -f "$OUT/rmq-$s.analyze.txt"
    start_broker "$s" || { rc=1; continue; }
    case $s in
        healthy) start_load healthy 25 ;;
        busy)    start_load busy 30 ;;
        backlog) start_load backlog 100000 ;;
        alarm)   start_load alarm 20 && raise_alarm ;;
        *) echo "broker.sh: unknown state $s" >&2; rc=2; continue ;;
    esac || { rc=1; cleanup; NODE_PID=""; LOAD_PID=""; continue; }
    capture_and_dump "$s"
    echo "broker.sh: $s: $OUT/rmq-$s.{bdump,dump,analyze.txt,truth}"
done
exit $rc
