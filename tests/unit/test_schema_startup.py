"""Schema support costs a run without a registry nothing: the serde libraries, the registry client and the json
package are not imported by consumer.py's start-up, and no schema step is put in the way of the messages."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
sys.argv = ["consumer.py"]
import kafka_cli.cli.consumer
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("fastavro", "httpx", "jsonschema", "google", "grpc_tools",
               "authlib", "json") or m in ("kafka_cli.schema.output", "kafka_cli.schema.decode",
               "confluent_kafka.schema_registry"))
print(heavy)
"""


def test_consumer_start_up_imports_no_schema_library():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_registry_shows_messages_as_stored_and_says_once_per_id_what_it_cannot_decode(write_config):
    from kafka_cli.cli.consumer import ConsumerOptions
    from kafka_cli.config.ini import load_config
    from kafka_cli.consume.formats import FORMATS, Style
    from kafka_cli.schema.hooks import decode_schemas
    from tests.unit.test_schema_decode import Message

    config = load_config(write_config("[default]\nbootstrap.servers=b:1\n"), "consumer")
    render = FORMATS["json"](Style())
    options = ConsumerOptions(topics=("t",), group=None, from_beginning=False, max_messages=None, exit_at_end=True,
                              idle_timeout=None, render_batch=render, terminal=False, quiet=False,
                              progress=None, direct=False, partitions=(), start=None, until=None)
    warnings = []
    sniffing = decode_schemas(options, config, "json", Style(warn=warnings.append))  # a value: no click needed
    batch = [Message(b"k", b"\x00\x00\x00\x00\x07avro"), Message(b"k", b"\x00\x00\x00\x00\x07more", 1),
             Message(b"\x00\x00\x00\x00\x08", b"plain", 2)]
    assert sniffing.render_batch(batch).data == render(batch).data
    assert len(warnings) == 2 and "value looks like Confluent's wire format (schema id 7)" in warnings[0]
    assert "t [0] @ 2: the key" in warnings[1] and "schema id 8" in warnings[1]


def test_no_registry_names_a_schema_guid_in_a_header_once_and_reads_no_payload_framing_beside_it():
    from confluent_kafka import Message

    from kafka_cli.consume.formats import FORMATS, Style
    from kafka_cli.schema.hooks import WireSniffer

    guid = b"\x01" + bytes(range(16))
    warnings = []
    render = FORMATS["text"](Style())
    sniffing = WireSniffer(warnings.append).wrap(render)
    batch = [Message(topic="t", partition=0, offset=n, key=b"k", value=b"\x00\x00\x00\x00\x09data",
                     headers=[("__value_schema_id", guid)], timestamp=(1, 1000)) for n in range(3)]
    batch.append(Message(topic="t", partition=0, offset=3, key=b"k", value=b"v",
                         headers=[("__value_schema_id", b"\x01short")], timestamp=(1, 1000)))
    assert sniffing(batch[:3]).data == render(batch[:3]).data and sniffing(batch[3:]).data == b"k:v\n"
    assert warnings == ["t [0] @ 0: the value names its schema in a __value_schema_id header (schema GUID "
                        "00010203-0405-0607-0809-0a0b0c0d0e0f), but no Schema Registry is configured "
                        "(schema.registry.url): values with this schema GUID are shown as stored bytes"]
