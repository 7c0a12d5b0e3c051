#!/usr/bin/env bash
# run.sh: a real ejabberd (Debian's ejabberd 23.01 on OTP 25) on loopback, healthy
# under a bounded XMPP load (xmpp_load.py: clients register, log in and chat),
# captured live (beamdump capture) and dumped by the VM (SIGUSR1) while the load
# runs. Nothing in it is wrong: beamdump must raise nothing at warning level.
#
#   samples/ejabberd/run.sh OUTDIR [CLIENTS] [SECONDS] [RATE]   (default 200 20 20)
#
# Needs: ejabberd (apt-get install ejabberd; the Debian service need not run) and a
# built beamdump ($BEAMDUMP, default build/beamdump). Not part of `make check`.
# Runs under OUTDIR (owned by the ejabberd user, as ejabberdctl runs the node as that
# user): its own config, spool, logs, node name bdejd<pid>@localhost, cookie, and
# ports on 127.0.0.1. Writes OUTDIR/ejd.bdump, OUTDIR/ejd.dump, OUTDIR/ejd.analyze.txt.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BD=${BEAMDUMP:-$ROOT/build/beamdump}
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [CLIENTS] [SECONDS] [RATE]" >&2; exit 2; }
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
CLIENTS=${2:-200} SECONDS_=${3:-20} RATE=${4:-20}
CTL=/usr/sbin/ejabberdctl
PY=/usr/bin/python3
[ -x "$CTL" ] || { echo "run.sh: ejabberd not installed" >&2; exit 1; }
[ -x "$BD" ] || { echo "run.sh: $BD not found" >&2; exit 1; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
NODE="bdejd$$@localhost"
COOKIE="bdejd$$$(date +%s%N)"
B="$OUT/ejd.d"
rm -rf "$B"; mkdir -p "$B/spool" "$B/logs"
cat > "$B/ejabberdctl.cfg" <<CFG
INET_DIST_INTERFACE=127.0.0.1
ERLANG_NODE=$NODE
ERL_OPTIONS="-setcookie $COOKIE +S 2:2"
CFG
cat > "$B/ejabberd.yml" <<YML
hosts:
  - localhost
loglevel: warning
listen:
  - port: $PORT
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: none
    access: all
acl:
  local:
    user_regexp: ""
access_rules:
  register:
    allow: all
  local:
    allow: local
shaper_rules:
  c2s_shaper: none
registration_timeout: infinity
auth_method: internal
modules:
  mod_register:
    ip_access: all
    access: register
  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
  mod_offline: {}
  mod_caps: {}
  mod_private: {}
YML
chown -R ejabberd:ejabberd "$OUT" 2>/dev/null
ctl() { "$CTL" -c "$B/ejabberdctl.cfg" -f "$B/ejabberd.yml" -s "$B/spool" -l "$B/logs" -n "$NODE" "$@"; }

LOAD_PID="" NODE_PID=""
cleanup() {
    [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
    if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
        ctl stop >/dev/null 2>&1; sleep 2; kill -9 "$NODE_PID" 2>/dev/null
    fi
    return 0
}
trap cleanup EXIT

(cd "$B" && ctl foreground > "$B/server.out" 2>&1 < /dev/null) &
up=0
for _ in $(seq 1 90); do
    if ctl status >/dev/null 2>&1; then up=1; break; fi
    sleep 1
done
[ $up = 1 ] || { echo "run.sh: ejabberd did not start (see $B/server.out)" >&2; exit 1; }
NODE_PID=$(pgrep -f -- "beam.smp.* -s?name $NODE( |$)" | head -1)   # the VM, not the ctl/su wrappers

$PY "$HERE/xmpp_load.py" "$PORT" "$CLIENTS" "$SECONDS_" "$RATE" > "$OUT/ejd.load" 2>&1 &
LOAD_PID=$!
for _ in $(seq 1 240); do
    grep -q ready "$OUT/ejd.load" 2>/dev/null && break
    kill -0 $LOAD_PID 2>/dev/null || break
    sleep 0.5
done
grep -q ready "$OUT/ejd.load" || { echo "run.sh: load did not start:" >&2; cat "$OUT/ejd.load" >&2; exit 1; }
sleep $(( SECONDS_ / 2 ))   # mid-load
printf '%s' "$COOKIE" > "$B/cookie"
"$BD" capture --node "$NODE" --cookie-file "$B/cookie" -o "$OUT/ejd.bdump"
ctl connected_users_number > "$OUT/ejd.users" 2>&1
ERL_DUMP=$(ls -t "$B"/logs/erl_crash_*.dump 2>/dev/null | head -1)
kill -USR1 "$NODE_PID"
for _ in $(seq 1 240); do
    kill -0 "$NODE_PID" 2>/dev/null || break
    sleep 0.5
done
NODE_PID=""
kill "$LOAD_PID" 2>/dev/null; LOAD_PID=""
D=$(ls -t "$B"/logs/erl_crash_*.dump 2>/dev/null | head -1)
[ -n "$D" ] && [ "$D" != "$ERL_DUMP" ] && mv "$D" "$OUT/ejd.dump"
: > "$OUT/ejd.analyze.txt"
for f in "$OUT/ejd.bdump" "$OUT/ejd.dump"; do
    [ -s "$f" ] || continue
    { echo "== beamdump analyze $f"; "$BD" analyze "$f" 2>&1
      echo "== beamdump top -n 8 $f"; "$BD" top -n 8 "$f" 2>&1; } >> "$OUT/ejd.analyze.txt"
done
echo "run.sh: $OUT/ejd.{bdump,dump,analyze.txt} ($(cat "$OUT/ejd.users" 2>/dev/null) users connected at capture)"
