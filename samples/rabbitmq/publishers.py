#!/usr/bin/env python3
"""publishers.py PORT N BODY_BYTES [CONSUMERS]: N AMQP publishers (one connection
and one channel each, threads) that publish transient messages of BODY_BYTES to
the queue 'orders' as fast as the broker takes them, until they are killed, and
CONSUMERS (default 0) consumers that take them off the queue (auto-ack).
Under a memory alarm the broker blocks the publishers (connection.blocked), so
they hang in their publish. Prints one line per client once it is connected."""
import sys
import threading

import pika

port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
consumers = int(sys.argv[4]) if len(sys.argv) > 4 else 0
body = (b"order:" + b"0123456789abcdef" * (size // 16 + 1))[:size]


def publisher(i):
    params = pika.ConnectionParameters(host="127.0.0.1", port=port,
                                       client_properties={"connection_name": "publisher-%d" % i},
                                       heartbeat=0, blocked_connection_timeout=None)
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.queue_declare(queue="orders")
    print("connected %d" % i, flush=True)
    seq = 0
    while True:
        ch.basic_publish(exchange="", routing_key="orders", body=body,
                         properties=pika.BasicProperties(message_id=str(seq)))
        seq += 1


def consumer(i):
    params = pika.ConnectionParameters(host="127.0.0.1", port=port, heartbeat=0,
                                       client_properties={"connection_name": "consumer-%d" % i})
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.queue_declare(queue="orders")
    ch.basic_qos(prefetch_count=200)
    ch.basic_consume(queue="orders", on_message_callback=lambda *a: None, auto_ack=True)
    print("consuming %d" % i, flush=True)
    ch.start_consuming()


threads = [threading.Thread(target=consumer, args=(i,), daemon=True) for i in range(consumers)]
threads += [threading.Thread(target=publisher, args=(i,), daemon=True) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
