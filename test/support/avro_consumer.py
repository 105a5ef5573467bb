"""A consumer as a Python service would write one: confluent-kafka's Consumer, read_committed, with
the AvroDeserializer over the schema registry and no special settings. Reads every record of a
topic and prints each decoded event as one JSON line (order_id as Python decodes it, exactly)."""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

p = argparse.ArgumentParser()
p.add_argument("--bootstrap", required=True)
p.add_argument("--registry", required=True)
p.add_argument("--topic", required=True)
p.add_argument("--count", type=int, required=True)
p.add_argument("--timeout", type=float, default=60)
a = p.parse_args()

deserialize = AvroDeserializer(SchemaRegistryClient({"url": a.registry}))
consumer = Consumer(
    {
        "bootstrap.servers": a.bootstrap,
        "group.id": f"avro-consumer-{time.time_ns()}",
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    }
)
consumer.subscribe([a.topic])
seen = 0
deadline = time.monotonic() + a.timeout
try:
    while seen < a.count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            raise SystemExit(f"consumer error: {msg.error()}")
        event = deserialize(msg.value(), SerializationContext(a.topic, MessageField.VALUE))
        print(json.dumps({"order_id": event["order_id"], "key": msg.key().decode()}), flush=True)
        seen += 1
finally:
    consumer.close()
if seen < a.count:
    sys.exit(f"read {seen} of {a.count} events within {a.timeout} s")
