"""The schema tests' real Schema Registry: one Apicurio Registry per test run (local_kafka.registry), with basic
auth on, and client configs that point at it and at the session's broker."""

import atexit
import sys

import pytest

from local_kafka.registry import SchemaRegistry


@pytest.fixture(scope="session")
def schema_registry(tmp_path_factory):
    """The run's registry. If it cannot start, every test that needs it errors: no silent skip."""
    registry = SchemaRegistry(tmp_path_factory.mktemp("schema-registry") / "registry")
    atexit.register(registry.stop)  # after Ctrl-C too; stop() is idempotent
    registry.start()
    print(f"\nschema registry: {registry.url}", file=sys.stderr)
    try:
        yield registry
    finally:
        registry.stop()


def registry_client(registry, user_info=None):
    """confluent-kafka's own client for `registry`, with a timeout (docs/schema-registry.md: a call can hang without one)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": registry.url, "basic.auth.user.info": user_info or registry.user_info,
                                 "timeout": 10})


@pytest.fixture(scope="session")
def sr_client(schema_registry):
    return registry_client(schema_registry)


def write_registry_config(path, kafka, registry_lines):
    """A client INI for the session's broker (plaintext): [default] with bootstrap.servers, then `registry_lines`
    (more [default] lines, or a [schema_registry] section)."""
    path.write_text(f"[default]\nbootstrap.servers={kafka.plaintext_bootstrap}\n" + "\n".join(registry_lines) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def schema_config(kafka, schema_registry, tmp_path):
    """A consumer/producer config with the registry in a [schema_registry] section."""
    return write_registry_config(tmp_path / "schema.ini", kafka, [
        "[schema_registry]", f"url={schema_registry.url}", f"basic.auth.user.info={schema_registry.user_info}"])
