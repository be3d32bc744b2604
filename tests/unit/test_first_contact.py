"""The first contact with the cluster (issue 28): a config the local Kafka wrote is told from the config alone and
gets the hint to copy it again; the first metadata question says a refused login at once and "cannot reach"
once; the consumer's line that says what it reads; and its check that the reader of its stdout pipe is gone."""

import logging
import os
import tempfile
import time
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException

from kafka_cli.client.build import explain_config_refusal
from kafka_cli.client.kafka_errors import ClusterErrors, describe_kafka_error
from kafka_cli.client.watched import Watched
from kafka_cli.config.ini import load_config
from kafka_cli.consume.loop import how_it_ends, pipe_reader_gone, reading_as_group
from kafka_cli.core.errors import CliError
from kafka_cli.core.exit_status import Interrupted

FIRST_LINE = "# Written by local_kafka for the broker it started; removed when that broker stops.\n"


def the_default_state_dir():
    """Where the launcher keeps its Kafka without LOCAL_KAFKA_STATE."""
    return os.path.join(tempfile.gettempdir(), f"local-kafka-{os.getuid()}")


def test_the_state_dir_is_the_launchers_own():
    """config/launcher.py repeats local_kafka/state.py's one line rather than import the launcher: held to it."""
    from kafka_cli.config.launcher import default_state_dir
    from local_kafka.state import STATE_DIR

    assert default_state_dir() == str(STATE_DIR)


@pytest.fixture
def no_state_env(monkeypatch):
    monkeypatch.delenv("LOCAL_KAFKA_STATE", raising=False)


def local_config(write_config, bootstrap="127.0.0.1:39601", extra="", first_line=FIRST_LINE):
    return load_config(write_config(f"{first_line}[default]\nbootstrap.servers={bootstrap}\n{extra}"
                                    "[consumer]\ngroup.id=local-demo\n"), "consumer")


# -- which configs the local Kafka wrote -----------------------------------------------------------------------
def test_the_launchers_plaintext_config_names_the_default_state_dir(write_config, no_state_env):
    config = local_config(write_config)
    assert config.launcher == the_default_state_dir()


def test_the_launchers_sasl_ssl_config_names_the_dir_of_its_ca(write_config, no_state_env):
    config = local_config(write_config, "localhost:45287", "security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\n"
                          "sasl.username=alice\nsasl.password=pw\nssl.ca.location=/srv/kafka-here/tls/ca.pem\n")
    assert config.launcher == "/srv/kafka-here"


def test_without_the_first_line_a_ca_in_the_state_dir_still_tells(write_config, no_state_env):
    ca = os.path.join(the_default_state_dir(), "tls", "ca.pem")
    assert local_config(write_config, extra=f"ssl.ca.location={ca}\n", first_line="").launcher == \
        the_default_state_dir()
    assert local_config(write_config, extra="ssl.ca.location=/etc/other/tls/ca.pem\n", first_line="").launcher is None
    assert local_config(write_config, first_line="").launcher is None


def test_a_config_pointing_away_from_loopback_is_not_the_launchers(write_config):
    assert local_config(write_config, "kafka.example.com:9092").launcher is None
    assert local_config(write_config, "127.0.0.1:1,kafka.example.com:9092").launcher is None


def test_the_state_dir_follows_local_kafka_state(write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("LOCAL_KAFKA_STATE", str(tmp_path / "mine"))
    assert local_config(write_config).launcher == str(tmp_path / "mine")


# -- the sentences -------------------------------------------------------------------------------------------
def auth_error():
    return KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: Authentication failed")


def test_a_refused_login_with_a_local_config_says_to_copy_it_again(write_config, no_state_env):
    config = local_config(write_config, "localhost:45287", "security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\n"
                          "sasl.username=alice\nsasl.password=pw\nssl.ca.location=/srv/k/tls/ca.pem\n")
    assert describe_kafka_error(auth_error(), config) == (
        f"authentication failed for user 'alice': check sasl.username and sasl.password in {config.path}; this "
        "config was written by the local Kafka in /srv/k, which makes new passwords at every start: run "
        "`LOCAL_KAFKA_STATE=/srv/k python -m local_kafka status`, or copy the config again: "
        f"cp \"$(LOCAL_KAFKA_STATE=/srv/k python -m local_kafka config sasl_ssl)\" {config.path}")


def test_a_refused_login_elsewhere_names_confluent_clouds_key(write_config):
    config = load_config(write_config("[default]\nbootstrap.servers=b.example:9092\nsasl.username=k\n"), "consumer")
    assert describe_kafka_error(auth_error(), config).endswith(
        f"in {config.path} (on Confluent Cloud: the API key and its secret)")


def test_a_deleted_ca_of_a_local_config_says_the_kafka_is_stopped(write_config, tmp_path):
    ca = tmp_path / "gone" / "tls" / "ca.pem"
    config = local_config(write_config, extra=f"ssl.ca.location={ca}\n")
    said = explain_config_refusal("Failed to create admin client: ssl.ca.location failed: error:05880020:x509 "
                                  "certificate routines::BIO lib", config)
    assert said.startswith(f"{config.path} line 4 [default]: ssl.ca.location: no file {ca}; this config was written "
                           f"by the local Kafka in {tmp_path / 'gone'}, which deletes its directory when it stops: ")


def refused(port):
    return KafkaError(KafkaError._TRANSPORT, f"127.0.0.1:{port}/bootstrap: Connect to ipv4#127.0.0.1:{port} failed: "
                                             "Connection refused (after 0ms in state CONNECT)")


class Recorded(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log():
    logger = logging.getLogger("test_first_contact")
    logger.handlers[:] = [Recorded()]
    logger.propagate = False
    return logger


def said(log):
    return log.handlers[0].lines


def lasting(errors):
    """As if the trouble had been seen SAY_AFTER seconds ago."""
    errors.trouble = (errors.trouble[0], time.monotonic() - ClusterErrors.SAY_AFTER)


def test_nothing_listens_on_a_local_configs_port(write_config, no_state_env, log):
    config = local_config(write_config)
    errors = ClusterErrors(config, log)
    errors(refused(39601))
    lasting(errors)
    errors.check(None, "still trying", probed=True)
    assert said(log) == [
        f"nothing listens on 127.0.0.1:39601 (bootstrap.servers, {config.path} line 3 [default]): still trying; "
        f"this config was written by the local Kafka in {the_default_state_dir()}, which is stopped or was "
        f"restarted on other ports: run `python -m local_kafka status`, or copy the config again: "
        f"cp \"$(python -m local_kafka config plaintext)\" {config.path}"]


def test_an_outage_after_an_answer_is_no_stale_config(write_config, log):
    config = local_config(write_config)
    errors = ClusterErrors(config, log)
    errors.recovered()  # it answered once
    errors(refused(39601))
    lasting(errors)
    errors.check(None, "waiting for it", probed=True)
    assert len(said(log)) == 1 and said(log)[0].startswith("cannot reach the broker (127.0.0.1:39601/bootstrap: ")


# -- the first metadata question -----------------------------------------------------------------------------
class Unanswering:
    """A client whose metadata questions fail after their timeout, and whose poll() serves `events` to the
    error callback, as librdkafka does."""

    def __init__(self, errors, events=(), answer_after=None):
        self.errors, self.events, self.answer_after = errors, list(events), answer_after
        self.asked = []
        self.started = time.monotonic()

    def list_topics(self, topic=None, timeout=-1):
        self.asked.append(timeout)
        if self.answer_after is not None and time.monotonic() - self.started >= self.answer_after:
            return SimpleNamespace(topics={})
        time.sleep(timeout)
        raise KafkaException(KafkaError(KafkaError._TRANSPORT, "Failed to get metadata"))

    def poll(self, timeout):
        while self.events:
            self.errors(self.events.pop(0))


def test_a_refused_login_ends_the_first_question_at_once(write_config, log):
    config = load_config(write_config("[default]\nbootstrap.servers=b.example:9092\nsasl.username=alice\n"), "consumer")
    errors = ClusterErrors(config, log)
    client = Unanswering(errors, [auth_error()])
    started = time.monotonic()
    with pytest.raises(CliError, match="^authentication failed for user 'alice'"):
        Watched(client, errors, "still trying").list_topics(timeout=30)
    assert time.monotonic() - started < 5 and len(client.asked) == 1


def test_no_answer_is_said_once_then_the_timeout_ends_it(write_config, log):
    config = load_config(write_config("[default]\nbootstrap.servers=127.0.0.1:1\n"), "consumer")
    errors = ClusterErrors(config, log)
    client = Unanswering(errors, [refused(1)] * 3)
    with pytest.raises(KafkaException):
        Watched(client, errors, "still trying until --timeout").list_topics(timeout=2.5)
    assert len(said(log)) == 1 and "still trying until --timeout" in said(log)[0]
    assert said(log)[0].startswith("cannot reach the broker (127.0.0.1:1/bootstrap: Connect to")
    assert max(client.asked) <= 0.25  # while the trouble lasts the slices stay short


def test_an_answer_after_trouble_is_said_too(write_config, log):
    config = load_config(write_config("[default]\nbootstrap.servers=127.0.0.1:1\n"), "consumer")
    errors = ClusterErrors(config, log)
    client = Watched(Unanswering(errors, [refused(1)], answer_after=2.2), errors, "still trying")
    assert client.list_topics(timeout=10).topics == {}
    assert [line.split(" (")[0] for line in said(log)] == ["cannot reach the broker", "the broker answers again"]


def test_a_slow_cluster_gets_longer_slices(write_config, log):
    """Without connection trouble (reached, slow to answer) each slice doubles: one that asks anew every 0.25 s
    would never hear an answer that takes 0.3 s."""
    config = load_config(write_config("[default]\nbootstrap.servers=b.example:9092\n"), "consumer")
    errors = ClusterErrors(config, log)
    client = Unanswering(errors)
    with pytest.raises(KafkaException):
        Watched(client, errors, "still trying").list_topics(timeout=4.0)  # (room for a busy machine's delays)
    assert client.asked[:3] == [0.25, 0.5, 1.0]


def test_a_signal_ends_the_wait(write_config, log):
    config = load_config(write_config("[default]\nbootstrap.servers=127.0.0.1:1\n"), "consumer")
    errors = ClusterErrors(config, log)
    signals = iter([None, None, 2])
    with pytest.raises(Interrupted) as stopped:
        Watched(Unanswering(errors), errors, "still trying", lambda: next(signals, 2)).list_topics(timeout=30)
    assert stopped.value.signum == 2


def test_watched_hands_every_other_attribute_to_the_client(write_config, log):
    inner = SimpleNamespace(list_offsets=lambda *a: "offsets")
    assert Watched(inner, None, "").list_offsets() == "offsets"


# -- what the consumer says it reads -------------------------------------------------------------------------
def options(**given):
    values = dict(from_beginning=False, exit_at_end=False, max_messages=None, idle_timeout=None, group=None)
    return SimpleNamespace(**{**values, **given})


def test_the_line_of_a_group_run(write_config):
    config = load_config(write_config("[default]\nbootstrap.servers=b:1\n[consumer]\ngroup.id=g1\n"
                                      "auto.offset.reset=latest\n"), "consumer")
    assigned = {("orders", 0), ("orders", 1), ("orders", 2), ("audit", 0)}
    assert reading_as_group(assigned, options(), config) == (
        "reading audit (1 partition), orders (3 partitions) as group g1 from the group's committed offsets, else "
        "the end (auto.offset.reset=latest); Ctrl-C to stop")
    assert reading_as_group({("orders", 0)}, options(from_beginning=True, exit_at_end=True), config) == (
        "reading orders (1 partition) as group g1 from the start of each partition (--from-beginning); ends at "
        "the end of every partition (-e), or Ctrl-C")


def test_how_a_run_ends():
    assert how_it_ends(options(max_messages=1, idle_timeout=2.5)) == (
        "ends after 1 message or after 2.5 s without a message (--timeout), or Ctrl-C")


# -- the reader of stdout gone --------------------------------------------------------------------------------
def test_a_pipe_whose_reader_closed_it_is_seen_without_writing():
    read_end, write_end = os.pipe()
    try:
        gone = pipe_reader_gone(write_end)
        assert gone is not None and not gone()
        os.close(read_end)
        read_end = None
        assert gone()
    finally:
        os.close(write_end)
        if read_end is not None:
            os.close(read_end)


def test_stdout_that_is_no_pipe_is_not_watched():
    with tempfile.TemporaryFile() as f:
        assert pipe_reader_gone(f.fileno()) is None
