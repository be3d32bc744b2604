"""The launcher itself: real TLS, real SASL/PLAIN, separate ports, nothing left running."""

import configparser
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient

from local_kafka.broker import SilentLogger

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local_broker_only


def try_metadata(settings, timeout=5):
    """(topics or None, first error code seen) for one metadata request with these settings."""
    errors = []
    client = AdminClient({**settings, "error_cb": errors.append, "logger": SilentLogger()})
    try:
        topics = client.list_topics(timeout=timeout).topics
    except Exception:
        topics = None
    client.poll(1)  # serves error_cb
    return topics, (errors[0].code() if errors else None)


def test_sasl_ssl_login_with_the_right_password_succeeds(kafka):
    topics, error = try_metadata(kafka.client_settings("sasl_ssl"))
    assert topics is not None and "topic_0" in topics
    assert error is None


def test_second_user_can_log_in_too(kafka):
    topics, _ = try_metadata({"bootstrap.servers": kafka.sasl_ssl_bootstrap, **kafka.sasl_settings("bob")})
    assert "topic_0" in topics


@pytest.mark.parametrize("user,password", [("alice", "wrong-password"), ("mallory", "whatever")])
def test_sasl_ssl_login_is_refused(kafka, user, password):
    topics, error = try_metadata({"bootstrap.servers": kafka.sasl_ssl_bootstrap,
                                  **kafka.sasl_settings(user if user != "mallory" else "alice", password)}
                                 | {"sasl.username": user})
    assert topics is None
    assert error == KafkaError._AUTHENTICATION


def test_tls_fails_without_the_ca(kafka):
    settings = kafka.client_settings("sasl_ssl")
    del settings["ssl.ca.location"]
    topics, error = try_metadata(settings)
    assert topics is None
    assert error == KafkaError._SSL


def test_produce_over_sasl_ssl_is_delivered(kafka, topic):
    reports = []
    producer = Producer(kafka.client_settings("sasl_ssl"))
    producer.produce(topic, b"v", b"k", on_delivery=lambda err, msg: reports.append(err))
    assert producer.flush(15) == 0
    assert reports == [None]


def test_default_topic_exists_with_six_partitions(kafka):
    topics, _ = try_metadata(kafka.client_settings("plaintext"))
    assert len(topics["topic_0"].partitions) == 6


def local_kafka_cli(state_dir, *args):
    env = {**os.environ, "LOCAL_KAFKA_STATE": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "local_kafka", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status").read_text()
    return "\nState:\tZ" not in status


def wait_gone(pid, seconds=30):
    deadline = time.monotonic() + seconds
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not pid_alive(pid)


def test_shell_start_status_stop_uses_other_ports_and_leaves_nothing(kafka, tmp_path):
    state_dir = tmp_path / "state"
    started = local_kafka_cli(state_dir, "start")
    assert started.returncode == 0, started.stderr
    state = json.loads((state_dir / "state.json").read_text())
    try:
        assert state["plaintext_bootstrap"] != kafka.plaintext_bootstrap
        assert state["sasl_ssl_bootstrap"] != kafka.sasl_ssl_bootstrap
        assert state["sasl_ssl_config"] in started.stdout
        status = local_kafka_cli(state_dir, "status")
        assert status.returncode == 0 and "running" in status.stdout
        # its SASL_SSL config works as it is
        ini = configparser.ConfigParser()
        ini.read(state["sasl_ssl_config"])
        topics, error = try_metadata(dict(ini["default"]))
        assert "topic_0" in topics and error is None
    finally:
        stopped = local_kafka_cli(state_dir, "stop")
    assert stopped.returncode == 0
    assert wait_gone(state["pid"], 5)
    assert not Path(state["workdir"]).exists()
    assert local_kafka_cli(state_dir, "status").returncode == 1


HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from local_kafka import LocalKafka
with LocalKafka() as broker:
    print(broker.pid, broker.workdir, flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_no_jvm_survives_its_owner(sig):
    """Ctrl-C runs the clean stop; even SIGKILL of the owner takes the JVM down (parent-death signal)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT))],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid, workdir = holder.stdout.readline().split()
        pid = int(pid)
        assert pid_alive(pid)
        holder.send_signal(sig)
        holder.wait(60)
        assert wait_gone(pid, 40)
        if sig == signal.SIGINT:
            assert not Path(workdir).exists()
    finally:
        holder.kill()
        holder.wait()
