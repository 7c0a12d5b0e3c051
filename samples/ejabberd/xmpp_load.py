#!/usr/bin/python3
"""Bounded XMPP load for samples/ejabberd/run.sh (standard library only, loopback).

  xmpp_load.py PORT CLIENTS SECONDS RATE

CLIENTS clients register in-band (XEP-0077), log in (SASL PLAIN, no TLS: loopback
only), send presence, join one shared roster of peers, then each sends RATE chat
messages a second to random peers for SECONDS seconds while reading what arrives.
Prints "ready" once every client is logged in and sending, then "done N" at the end.
"""
import base64
import random
import select
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
DOMAIN = "localhost"


def recv_until(s, needles, timeout=20.0):
    buf = b""
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.5)
        if r:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            for n in needles:
                if n in buf:
                    return buf
    raise RuntimeError("timeout waiting for %r, got %r" % (needles, buf[-300:]))


def stream(s):
    s.sendall(("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
               "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" % DOMAIN).encode())
    return recv_until(s, [b"</stream:features>"])


def session(port, user):
    s = socket.create_connection((HOST, port), timeout=20)
    stream(s)
    s.sendall(("<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>%s</username>"
               "<password>pw</password></query></iq>" % user).encode())
    recv_until(s, [b"id='reg'", b'id="reg"'])
    auth = base64.b64encode(("\0%s\0pw" % user).encode()).decode()
    s.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>"
               % auth).encode())
    out = recv_until(s, [b"<success", b"<failure"])
    if b"<success" not in out:
        raise RuntimeError("auth failed for %s: %r" % (user, out[-200:]))
    stream(s)
    s.sendall(b"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
              b"<resource>load</resource></bind></iq>")
    recv_until(s, [b"</iq>"])
    s.sendall(b"<presence/>")
    return s


def client(port, i, peers, seconds, rate, started, counts, stop):
    try:
        s = session(port, "u%d" % i)
    except Exception as e:  # noqa: BLE001 - report and stop this client only
        print("client %d: %s" % (i, e), flush=True)
        started.release()
        return
    started.release()
    s.setblocking(False)
    sent = 0
    end = time.time() + seconds
    while time.time() < end and not stop.is_set():
        t0 = time.time()
        for _ in range(rate):
            to = "u%d@%s" % (random.choice(peers), DOMAIN)
            msg = "<message to='%s' type='chat'><body>%s</body></message>" % (to, "x" * 200)
            try:
                s.sendall(msg.encode())
                sent += 1
            except BlockingIOError:
                break
            except OSError:  # the node went down (its dump was taken): stop quietly
                counts[i] = sent
                return
        try:
            while s.recv(65536):
                pass
        except (BlockingIOError, OSError):
            pass
        time.sleep(max(0.0, 1.0 - (time.time() - t0)))
    counts[i] = sent
    while not stop.is_set():  # stay connected (idle) until the driver ends us
        time.sleep(0.2)
        try:
            s.recv(65536)
        except (BlockingIOError, OSError):
            pass
    s.close()


def main():
    port, n, seconds, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    started = threading.Semaphore(0)
    stop = threading.Event()
    counts = [0] * n
    peers = list(range(n))
    ts = [threading.Thread(target=client, args=(port, i, peers, seconds, rate, started, counts, stop),
                           daemon=True) for i in range(n)]
    for t in ts:
        t.start()
        time.sleep(0.02)
    for _ in ts:
        started.acquire()
    print("ready", flush=True)
    time.sleep(seconds + 1)
    print("done %d" % sum(counts), flush=True)
    time.sleep(600)  # the driver kills us after the dump
    stop.set()


if __name__ == "__main__":
    main()
