"""pytest wiring: one real Kafka per test session, a fresh topic per test.

By default the session starts the project's local Kafka (local_kafka). To run the
integration tests against a broker you already have, set
    KAFKA_TEST_BOOTSTRAP_SERVERS=host:port
and, for SASL, KAFKA_TEST_SECURITY_PROTOCOL, KAFKA_TEST_SASL_MECHANISMS (default PLAIN),
KAFKA_TEST_SASL_USERNAME, KAFKA_TEST_SASL_PASSWORD, KAFKA_TEST_SSL_CA_LOCATION.
KAFKA_INTEGRATION=skip leaves the integration tests out (for machines without Java);
it is never set in CI. KAFKA_TEST_VERSION=3.9.1 (say) runs the project's own brokers on that Kafka
version instead of the launcher's default.

Each of the three local brokers (`kafka`, `kafka_autocreate`, `kafka_cluster`) starts at most once per run,
when the first test that needs it runs, and serves every module after it. Tests that kill, pause or stop
one of them restore it before they end, so the next test finds it whole.
"""

import atexit
import os
import re
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_kafka import KafkaCluster, LocalKafka, create_topic  # noqa: E402
from local_kafka.broker import write_client_config  # noqa: E402

INTEGRATION_DIR = Path(__file__).parent / "integration"
# the brokers the tests start (also through `python -m local_kafka`) compile with the JIT's first tier only: a node
# starts on 40 % less CPU, which a 2-core machine running three workers' brokers feels; their speed is not measured
os.environ.setdefault("LOCAL_KAFKA_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1")
LISTENERS = ("plaintext", "sasl_ssl")


def pytest_configure(config):
    config.addinivalue_line("markers", "local_broker_only: needs the project's own broker (kills it, or uses its users)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "xdist_group(name): run on the one xdist worker of that group")


# make test runs the suite on three pytest-xdist workers (--dist loadgroup), each a session of its own with its own
# brokers. A test that needs one of the costly brokers goes to the one worker that holds it, so each of those
# starts once a run: the tests of a group run one after another on its worker, the rest spread over all three.
XDIST_GROUPS = {"kafka_cluster": "three-nodes", "kafka_autocreate": "auto-create", "schema_registry": "registry"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            for fixture, group in XDIST_GROUPS.items():
                if fixture in item.fixturenames:
                    item.add_marker(pytest.mark.xdist_group(group))
                    break
    if os.environ.get("KAFKA_INTEGRATION") == "skip":
        skip = pytest.mark.skip(reason="KAFKA_INTEGRATION=skip: integration tests left out on purpose")
        for item in items:
            if INTEGRATION_DIR in Path(item.fspath).parents:
                item.add_marker(skip)
    elif os.environ.get("KAFKA_TEST_BOOTSTRAP_SERVERS"):
        skip = pytest.mark.skip(reason="runs only against the project's own local broker")
        for item in items:
            if "local_broker_only" in item.keywords:
                item.add_marker(skip)


class ExternalKafka:
    """A broker the user already runs, described by KAFKA_TEST_* variables; same face as LocalKafka."""

    def __init__(self, workdir):
        env = os.environ
        self.bootstrap = env["KAFKA_TEST_BOOTSTRAP_SERVERS"]
        self.settings = {}
        for var, prop in [("SECURITY_PROTOCOL", "security.protocol"), ("SASL_MECHANISMS", "sasl.mechanisms"),
                          ("SASL_USERNAME", "sasl.username"), ("SASL_PASSWORD", "sasl.password"),
                          ("SSL_CA_LOCATION", "ssl.ca.location")]:
            if env.get("KAFKA_TEST_" + var):
                self.settings[prop] = env["KAFKA_TEST_" + var]
        if "sasl.username" in self.settings:
            self.settings.setdefault("sasl.mechanisms", "PLAIN")
        self.config = Path(workdir) / "client-external.ini"
        write_client_config(self.config, self.bootstrap, self.settings)
        self.plaintext_config = self.sasl_ssl_config = self.config
        self.plaintext_bootstrap = self.sasl_ssl_bootstrap = self.bootstrap

    def admin(self):
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": self.bootstrap, **self.settings})

    def client_settings(self, listener):
        return {"bootstrap.servers": self.bootstrap, **self.settings}

    def stop(self):
        pass


def version_options():
    """kafka_version=KAFKA_TEST_VERSION for the launcher, only when that variable is set."""
    version = os.environ.get("KAFKA_TEST_VERSION")
    return {"kafka_version": version} if version else {}


def _local(tmp_path_factory, name, broker_class=LocalKafka, **options):
    """Start one of the project's own brokers for the session; stop() removes its directory (or atexit, after Ctrl-C)."""
    options.update(version_options())
    # a directory that does not exist yet, so the launcher makes it (private, marked) and deletes it whole
    broker = broker_class(workdir=tmp_path_factory.mktemp(name) / "kafka", **options)
    atexit.register(broker.stop)  # stop() is idempotent
    broker.start()
    print(f"\n{name}: local Kafka started in {broker.startup_seconds:.1f} s "
          f"(PLAINTEXT {broker.plaintext_bootstrap}, SASL_SSL {broker.sasl_ssl_bootstrap})", file=sys.stderr)
    return broker


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    """The session's broker. If it cannot start, every test that needs it errors: no silent skip."""
    if os.environ.get("KAFKA_TEST_BOOTSTRAP_SERVERS"):
        yield ExternalKafka(tmp_path_factory.mktemp("external"))
        return
    broker = _local(tmp_path_factory, "kafka")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_autocreate(tmp_path_factory):
    """A second local broker, started only for tests that ask for it, that creates topics on first use
    (Apache's default; 3 partitions). Same face as `kafka`."""
    broker = _local(tmp_path_factory, "kafka-autocreate", auto_create_topics=True)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory):
    """Three local Kafka nodes (broker and controller each; replication factor 3, min.insync.replicas 2),
    started only for tests that ask for it. Tests that kill, pause or stop a node restart it and wait for
    full ISR before they end, so the next test finds the cluster whole."""
    cluster = _local(tmp_path_factory, "kafka-cluster", KafkaCluster, brokers=3)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=LISTENERS)
def listener(request):
    return request.param


@pytest.fixture
def config_file(kafka, listener):
    """A client INI (same shape as config.ini.example) for the listener under test."""
    return kafka.plaintext_config if listener == "plaintext" else kafka.sasl_ssl_config


def unique_name(request, prefix="t"):
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60].strip("-")
    return f"{prefix}-{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_topic(kafka, request):
    """make_topic(partitions=3) -> the name of a new topic, unique to this test."""
    def make(partitions=3):
        name = unique_name(request)
        create_topic(kafka.admin(), name, partitions)
        return name
    return make


@pytest.fixture
def topic(make_topic):
    return make_topic(3)


@pytest.fixture
def group(request):
    return unique_name(request, "g")
