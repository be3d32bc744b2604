"""Schema support costs a run without a registry nothing: the serde libraries, the registry client and the json
package are not imported by consumer.py's start-up, and no schema step is put in the way of the messages."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
sys.argv = ["consumer.py"]
import commands.consumer
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("fastavro", "httpx", "jsonschema", "google", "grpc_tools",
               "authlib", "json") or m in ("kafka_cli.schema_output", "kafka_cli.schema_decode",
               "confluent_kafka.schema_registry"))
print(heavy)
"""


def test_consumer_start_up_imports_no_schema_library():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_registry_and_no_format_leaves_the_options_untouched(write_config):
    import click

    from kafka_cli.config import load_config
    from kafka_cli.formats import Style
    from kafka_cli.schema_options import decode_schemas

    config = load_config(write_config("[default]\nbootstrap.servers=b:1\n"), "consumer")
    options = object()
    with click.Context(click.Command("consumer.py")) as ctx:
        ctx.meta.update({"kafka_cli.key_format": "auto", "kafka_cli.value_format": "auto"})
        assert decode_schemas(options, config, "text", Style()) is options
