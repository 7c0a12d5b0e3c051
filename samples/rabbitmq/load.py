#!/usr/bin/python3
"""Bounded AMQP load for samples/rabbitmq/broker.sh (python3-pika, loopback only).

  load.py PORT healthy SECONDS     producers and consumers in balance on queues
                                   'audit' and 'events': nothing piles up
  load.py PORT backlog COUNT       healthy traffic, plus COUNT 1 kB messages published
                                   to 'orders', a queue nobody consumes
  load.py PORT busy SECONDS        the healthy traffic, plus 10 publishers (100 msg/s of
                                   8 kB each) and 8 consumers on 'orders': a busy broker
                                   whose consumers keep up
  load.py PORT alarm CONNS         CONNS publishers push 4 kB messages to 'orders'
                                   until the broker blocks them (the driver lowers the
                                   memory watermark), connections kept open, blocked

Every loop is bounded (messages, seconds); nothing listens beyond 127.0.0.1.
"""
import sys
import threading
import time

import pika

HOST = "127.0.0.1"


def conn(port, name):
    params = pika.ConnectionParameters(
        host=HOST, port=port, heartbeat=0, blocked_connection_timeout=None,
        client_properties={"connection_name": name})
    return pika.BlockingConnection(params)


def declare(ch):
    for q in ("orders", "audit", "events"):
        ch.queue_declare(queue=q, durable=False)


def consumer(port, queue, stop):
    c = conn(port, "consumer-" + queue)
    ch = c.channel()
    ch.basic_qos(prefetch_count=50)
    for method, _props, _body in ch.consume(queue, inactivity_timeout=0.2):
        if method is not None:
            ch.basic_ack(method.delivery_tag)
        if stop.is_set():
            break
    ch.cancel()
    c.close()


def producer(port, queue, stop, rate, size):
    c = conn(port, "producer-" + queue)
    ch = c.channel()
    body = b"x" * size
    while not stop.is_set():
        t0 = time.time()
        for _ in range(rate // 10):
            ch.basic_publish(exchange="", routing_key=queue, body=body)
        c.process_data_events(time_limit=0)
        time.sleep(max(0.0, 0.1 - (time.time() - t0)))
    c.close()


def healthy(port, seconds, stop=None):
    own = stop is None
    stop = stop or threading.Event()
    ts = []
    for q in ("audit", "events"):
        ts.append(threading.Thread(target=consumer, args=(port, q, stop), daemon=True))
        ts.append(threading.Thread(target=producer, args=(port, q, stop, 500, 512), daemon=True))
    for t in ts:
        t.start()
    if own:
        time.sleep(min(5, seconds))
        print("ready", flush=True)  # traffic is flowing: capture now
        time.sleep(max(0, seconds - 5))
        stop.set()
        for t in ts:
            t.join(10)
    return ts


def busy(port, seconds):
    stop = threading.Event()
    ts = healthy(port, 0, stop)
    for i in range(8):
        ts.append(threading.Thread(target=consumer, args=(port, "orders", stop), daemon=True))
    for i in range(10):
        ts.append(threading.Thread(target=producer, args=(port, "orders", stop, 100, 8192),
                                   daemon=True))
    for t in ts[-18:]:
        t.start()
    time.sleep(min(8, seconds))
    print("ready", flush=True)  # traffic is flowing: capture now
    time.sleep(max(0, seconds - 8))
    stop.set()
    for t in ts:
        t.join(10)


def backlog(port, count):
    stop = threading.Event()
    healthy(port, 0, stop)
    c = conn(port, "producer-orders")
    ch = c.channel()
    body = b"o" * 1024
    for i in range(count):
        ch.basic_publish(exchange="", routing_key="orders", body=body)
        if i % 1000 == 0:
            c.process_data_events(time_limit=0)
    c.process_data_events(time_limit=1)
    c.close()
    print("published %d to orders" % count, flush=True)
    time.sleep(2)  # keep the healthy traffic running while the capture is taken
    print("ready", flush=True)
    time.sleep(600)  # the driver kills us after capturing (bounded anyway)
    stop.set()


def alarm(port, conns):
    """CONNS publishers push 4 kB messages to 'orders' (200/s each, bounded). The driver
    then lowers the memory watermark: the broker raises its memory alarm and
    blocks every publishing connection (they stop being read), which keeps
    these threads stuck in basic_publish until the driver kills us."""
    up = []

    def push(i):
        c = conn(port, "publisher-%d" % i)
        ch = c.channel()
        body = b"a" * 4096
        up.append(i)
        deadline = time.time() + 300
        # bounded: 200 messages/s, 10,000 at most (40 MB) per publisher
        for n in range(10000):
            if time.time() > deadline:
                break
            ch.basic_publish(exchange="", routing_key="orders", body=body)
            if n % 20 == 19:
                c.process_data_events(time_limit=0.1)

    ts = [threading.Thread(target=push, args=(i,), daemon=True) for i in range(conns)]
    for t in ts:
        t.start()
    while len(up) < conns:
        time.sleep(0.1)
    print("publishing with %d connections" % conns, flush=True)
    print("ready", flush=True)
    time.sleep(300)


def main():
    port, mode, arg = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    c = conn(port, "setup")
    declare(c.channel())
    c.close()
    if mode == "healthy":
        healthy(port, arg)
    elif mode == "backlog":
        backlog(port, arg)
    elif mode == "busy":
        busy(port, arg)
    elif mode == "alarm":
        alarm(port, arg)


if __name__ == "__main__":
    main()
