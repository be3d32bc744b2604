#!/usr/bin/env python3
"""Schema'd records of ~100 bytes: how fast producer.py encodes and consumer.py decodes Avro, JSON Schema and
Protobuf, beside plain -f text, and Avro beside the loop of Confluent's example consumer (an AvroDeserializer call
and a print() per message).

    LOCAL_KAFKA_STATE=/tmp/mine python -m local_kafka start --schema-registry
    python bench/schema_bench.py "$(LOCAL_KAFKA_STATE=/tmp/mine python -m local_kafka config plaintext)" [-n 50000]

Needs a config with a Schema Registry and a broker that creates topics through the admin API. Prints messages per
second for each run (one run each, wall time: a shared machine swings, so read the ratios); asserts nothing.
"""

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCHEMA = {"type": "record", "name": "Reading", "namespace": "bench", "fields": [
    {"name": "sensor", "type": "string"}, {"name": "site", "type": "string"}, {"name": "seq", "type": "long"},
    {"name": "celsius", "type": "double"}, {"name": "ok", "type": "boolean"}, {"name": "note", "type": "string"}]}
# the same record in the two other schema types
JSON_SCHEMA = {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Reading", "type": "object",
               "properties": {"sensor": {"type": "string"}, "site": {"type": "string"}, "seq": {"type": "integer"},
                              "celsius": {"type": "number"}, "ok": {"type": "boolean"}, "note": {"type": "string"}},
               "required": ["sensor", "site", "seq", "celsius", "ok", "note"], "additionalProperties": False}
PROTO = """syntax = "proto3";
package bench;
message Reading {
  string sensor = 1;
  string site = 2;
  int64 seq = 3;
  double celsius = 4;
  bool ok = 5;
  string note = 6;
}
"""
SCHEMA_FILES = {"avro": ("avsc", json.dumps(SCHEMA)), "jsonschema": ("json", json.dumps(JSON_SCHEMA)),
                "protobuf": ("proto", PROTO)}


def lines(count, key_separator="\t"):
    """count KEY<tab>JSON lines whose Avro encoding is about 100 bytes (the JSON text is a little longer)."""
    out = []
    for i in range(count):
        record = {"sensor": f"sensor-{i % 977:04d}", "site": "north-field-station", "seq": i, "celsius": 20.5 + i % 13,
                  "ok": i % 7 != 0, "note": "steady reading from the array, nothing to report here"}
        out.append(f"k{i % 1000}{key_separator}{json.dumps(record, separators=(',', ':'))}")
    return ("\n".join(out) + "\n").encode()


def timed(command, data=b"", stdout=subprocess.DEVNULL):
    began = time.monotonic()
    proc = subprocess.run(command, input=data, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT, timeout=1800)
    seconds = time.monotonic() - began
    if proc.returncode != 0:
        sys.exit(f"{command[1]} failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]}")
    return seconds


def make_topic(config, name):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(config.as_dict())
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(60)


EXAMPLE_LOOP = """
import sys
sys.path.insert(0, {root!r})
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import SerializationContext, MessageField
from kafka_cli.config.ini import load_config
config = load_config({config!r}, "consumer")
client = SchemaRegistryClient(config.registry.client_conf())
deserializer = AvroDeserializer(client)
consumer = Consumer({{**config.as_dict(), "group.id": "example-{tag}", "auto.offset.reset": "earliest"}})
consumer.subscribe([{topic!r}])
seen = 0
while seen < {count}:
    msg = consumer.poll(1.0)
    if msg is None or msg.error():
        continue
    user = deserializer(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
    print(f"Consumed event from topic {{msg.topic()}}: key = {{msg.key()}} value = {{user}}")
    seen += 1
consumer.close()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("-n", "--count", type=int, default=50_000)
    args = parser.parse_args()
    from kafka_cli.config.ini import load_config

    config = load_config(args.config, "producer")
    if config.registry is None:
        sys.exit(f"{args.config} names no Schema Registry (start local_kafka with --schema-registry)")
    tag = uuid.uuid4().hex[:8]
    text_topic = f"bench-text-{tag}"
    topics = {kind: f"bench-{kind}-{tag}" for kind in SCHEMA_FILES}
    for topic in (text_topic, *topics.values()):
        make_topic(config, topic)
    data, n, py = lines(args.count), args.count, sys.executable
    read = ["-e", "-q", "-p", "0", "-o", "beginning"]
    rows = [("producer.py -f text (plain)", timed([py, "producer.py", args.config, "-t", text_topic, "-K", r"\t", "-q"],
                                                  data)),
            ("consumer.py -f text, plain topic", timed([py, "consumer.py", args.config, "-t", text_topic, *read]))]
    for kind, (suffix, text) in SCHEMA_FILES.items():
        schema = Path(f"/tmp/schema-bench-{tag}.{suffix}")
        schema.write_text(text)
        try:
            rows.append((f"producer.py --value-format {kind}",
                         timed([py, "producer.py", args.config, "-t", topics[kind], "-K", r"\t", "-q",
                                "--value-format", kind, "--value-schema", str(schema)], data)))
        finally:
            schema.unlink()
        rows.append((f"consumer.py, {kind} decoded (auto)",
                     timed([py, "consumer.py", args.config, "-t", topics[kind], *read])))
        if kind == "avro":
            rows += [
                ("consumer.py --value-format string (Avro bytes as stored)",
                 timed([py, "consumer.py", args.config, "-t", topics[kind], *read, "--value-format", "string",
                        "--key-format", "string"])),
                ("consumer.py -f json, Avro decoded", timed([py, "consumer.py", args.config, "-t", topics[kind], *read,
                                                             "-f", "json"])),
                ("Confluent example loop (AvroDeserializer + print)",
                 timed([py, "-c", EXAMPLE_LOOP.format(root=str(ROOT), config=args.config, tag=tag,
                                                      topic=topics[kind], count=n)])),
            ]
    print(f"{n:,} records of ~100 B each (one run each, wall time including start-up)")
    for name, seconds in rows:
        print(f"  {name:<58} {n / seconds:>10,.0f} msg/s  ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
