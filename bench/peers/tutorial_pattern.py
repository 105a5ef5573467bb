"""The tutorial's Python producer pattern, for the benchmark: confluent-kafka's Producer with
the tutorial's settings and AvroSerializer called once per message. Prints one JSON line.
The Kafka password comes from BENCH_KAFKA_PASSWORD (never argv: a failed run prints its command)."""
import argparse
import json
import os
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

p = argparse.ArgumentParser()
for name in ("bootstrap", "username", "ca", "registry", "topic", "warmup-topic", "schema"):
    p.add_argument(f"--{name}", required=True)
p.add_argument("--events", type=int, required=True)
p.add_argument("--warmup", type=int, default=0)
a = p.parse_args()

config = {
    "bootstrap.servers": a.bootstrap,
    "security.protocol": "SASL_SSL",
    "sasl.mechanisms": "PLAIN",
    "sasl.username": a.username,
    "sasl.password": os.environ["BENCH_KAFKA_PASSWORD"],
    "ssl.ca.location": a.ca,
    # The tutorial's production settings:
    "acks": "all",
    "retries": 10,
    "enable.idempotence": True,
    "compression.type": "snappy",
    "linger.ms": 100,
    "batch.size": 16384,
}
producer = Producer(config)
registry = SchemaRegistryClient(
    {"url": a.registry, "basic.auth.user.info": f"{a.username}:{os.environ['BENCH_KAFKA_PASSWORD']}", "timeout": 30}
)
with open(a.schema) as f:
    serializer = AvroSerializer(registry, f.read(), lambda obj, ctx: obj)

delivered = 0
failed = 0


def on_delivery(err, msg):
    global delivered, failed
    if err:
        failed += 1
    else:
        delivered += 1


def produce(topic, count, nominal_ms):
    ctx = SerializationContext(topic, MessageField.VALUE)
    for i in range(count):
        event = {
            "order_id": nominal_ms * 1_000_000 + i,
            "customer_id": f"cust_{1000 + i}",
            "order_status": ["CREATED", "CONFIRMED", "SHIPPED"][i % 3],
            "order_total": round(50.0 + (i * 10.5), 2),
            "created_at": nominal_ms,
        }
        value = serializer(event, ctx)
        while True:
            try:
                producer.produce(topic=topic, key=str(event["order_id"]).encode(), value=value, callback=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)  # local queue full: let deliveries drain
        producer.poll(0)
    producer.flush(60)


nominal = int(time.time() * 1000)
if a.warmup:
    produce(a.warmup_topic, a.warmup, nominal)
delivered = failed = 0
cpu0, t0 = time.process_time(), time.perf_counter()
produce(a.topic, a.events, nominal)
seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
if delivered != a.events:
    sys.exit(f"{delivered} of {a.events} records delivered, {failed} failed")
print(json.dumps({"events": a.events, "delivered": delivered, "failed": failed, "seconds": seconds, "cpuSeconds": cpu}))
