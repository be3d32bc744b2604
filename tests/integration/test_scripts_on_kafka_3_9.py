"""The script tests of test_scripts.py once more, against Kafka 3.9.1: a release many users' clusters still run
(KRaft, the 3.x protocol versions, log4j 1's logging). Same tests, same assertions; only the broker differs. It is
started once a run, on the one worker of its group, beside the suite's default-version brokers."""

import pytest

from tests.conftest import _local
from tests.integration.test_scripts import *  # noqa: F401,F403 - the tests themselves, collected here again

OLDER_KAFKA = "3.9.1"
pytestmark = pytest.mark.xdist_group("kafka-3.9")


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    """Overrides the session's broker for this module's tests (make_topic, config_file... follow it)."""
    broker = _local(tmp_path_factory, "kafka-3.9", kafka_version=OLDER_KAFKA)
    try:
        yield broker
    finally:
        broker.stop()
