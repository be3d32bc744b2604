"""Three real Kafka nodes (local_kafka's KafkaCluster): metadata, replication, SASL_SSL on every node,
a node killed and restarted, and the shell face for a cluster."""

import configparser
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from local_kafka import create_topic
from local_kafka.broker import SilentLogger, is_broker_process

from .scripts import consume, produce

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local_broker_only
QUIET = SilentLogger()


def wait_until(condition, timeout, what):
    """Poll `condition` until it returns something true; fail naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.25)


def topic_0(client):
    return client.list_topics("topic_0", timeout=10).topics["topic_0"]


def local_kafka_cli(state_dir, *args):
    env = {**os.environ, "LOCAL_KAFKA_STATE": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "local_kafka", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)


# Defined first so that it runs before the session's cluster fixture starts: two clusters at once would
# be six JVMs on this small machine.
def test_shell_start_brokers_3_status_config_kill_stop_leaves_nothing(tmp_path):
    state_dir = tmp_path / "state"
    started = local_kafka_cli(state_dir, "start", "--brokers", "3")
    assert started.returncode == 0, started.stderr
    state = json.loads((state_dir / "state.json").read_text())
    pids = [node["pid"] for node in state["nodes"]]
    try:
        assert [node["node_id"] for node in state["nodes"]] == [1, 2, 3] and len(set(pids)) == 3
        assert all(is_broker_process(pid) for pid in pids)
        assert len(state["plaintext_bootstrap"].split(",")) == 3
        ini = configparser.ConfigParser()
        ini.read(local_kafka_cli(state_dir, "config", "sasl_ssl").stdout.strip())
        assert ini["default"]["bootstrap.servers"] == state["sasl_ssl_bootstrap"]
        assert set(AdminClient({**ini["default"], "logger": QUIET}).list_topics(timeout=10).brokers) == {1, 2, 3}
        assert local_kafka_cli(state_dir, "status").returncode == 0
        os.kill(pids[1], signal.SIGKILL)
        wait_until(lambda: not is_broker_process(pids[1]), 30, "node 2 gone after SIGKILL")
        status = local_kafka_cli(state_dir, "status")
        assert status.returncode == 1 and "node(s) 2 not running" in status.stderr
        assert "NOT RUNNING" in status.stdout
        assert local_kafka_cli(state_dir, "config", "plaintext").returncode == 0  # two nodes still serve
    finally:
        stopped = local_kafka_cli(state_dir, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not any(is_broker_process(pid) for pid in pids)
    assert not Path(state["workdir"]).exists()
    assert local_kafka_cli(state_dir, "status").returncode == 1


def test_three_brokers_and_topic_0_fully_replicated(kafka_cluster):
    admin = kafka_cluster.admin()
    metadata = admin.list_topics(timeout=10)
    assert set(metadata.brokers) == {1, 2, 3}
    partitions = topic_0(admin).partitions
    assert sorted(partitions) == list(range(6))
    for p in partitions.values():
        assert sorted(p.replicas) == [1, 2, 3] and sorted(p.isrs) == [1, 2, 3]
    assert {p.leader for p in partitions.values()} == {1, 2, 3}  # leadership is spread
    resource = ConfigResource(ConfigResource.Type.BROKER, "1")
    broker_config = admin.describe_configs([resource])[resource].result(10)
    wanted = {"min.insync.replicas": "2", "default.replication.factor": "3", "offsets.topic.replication.factor": "3",
              "transaction.state.log.replication.factor": "3", "transaction.state.log.min.isr": "2",
              "auto.create.topics.enable": "false"}
    assert {k: broker_config[k].value for k in wanted} == wanted


def test_sasl_ssl_works_on_every_node_and_refuses_a_wrong_password(kafka_cluster):
    def check(node):
        errors = []
        alone = AdminClient({**kafka_cluster.sasl_settings("bob"), "bootstrap.servers": node.sasl_ssl_bootstrap,
                             "logger": QUIET, "error_cb": errors.append})
        assert set(alone.list_topics(timeout=10).brokers) == {1, 2, 3}, f"node {node.node_id}"
        assert errors == []
        wrong = []
        refused = AdminClient({**kafka_cluster.sasl_settings("alice", "not-the-password"),
                               "bootstrap.servers": node.sasl_ssl_bootstrap, "logger": QUIET, "error_cb": wrong.append})
        with pytest.raises(Exception):
            refused.list_topics(timeout=3)
        refused.poll(1)
        assert [e.code() for e in wrong][:1] == [KafkaError._AUTHENTICATION], f"node {node.node_id}"

    # the nodes side by side: each refusal waits out its 3 s list_topics; result() re-raises a failed check
    with ThreadPoolExecutor(len(kafka_cluster.nodes)) as pool:
        for future in [pool.submit(check, node) for node in kafka_cluster.nodes.values()]:
            future.result()


def test_scripts_round_trip_through_the_cluster_config(kafka_cluster):
    """producer.py and consumer.py with the INI the cluster wrote (SASL_SSL, three bootstrap servers)."""
    topic = f"cluster-rt-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_cluster.admin(), topic, 3, replication_factor=3)
    lines = [f"k{i % 7}:v{i}" for i in range(2000)]
    sent = produce(kafka_cluster.sasl_ssl_config, topic, lines)
    assert sent.returncode == 0, sent.stderr
    got = consume(kafka_cluster.sasl_ssl_config, topic, "--from-beginning", "--exit-at-end", "-g",
                  f"g-{uuid.uuid4().hex[:8]}")
    assert got.returncode == 0, got.stderr
    assert sorted(got.stdout.decode().splitlines()) == sorted(lines)


def test_killed_leader_is_replaced_and_its_restart_brings_the_isr_back(kafka_cluster):
    admin = kafka_cluster.admin()
    victim = kafka_cluster.leader_of("topic_0", 0)
    group = f"g-coord-{uuid.uuid4().hex[:8]}"
    assert kafka_cluster.coordinator_of(group) in {1, 2, 3}
    old_pid = kafka_cluster.node(victim).pid
    kafka_cluster.kill(victim)
    assert not is_broker_process(old_pid)
    try:
        # the controller fences the dead broker once its session lapses; then partition 0 has another leader
        new_leader = wait_until(lambda: (lambda leader: leader if leader not in (-1, victim) else None)(
            kafka_cluster.leader_of("topic_0", 0)), 60, f"a new leader for topic_0/0 after killing node {victim}")
        shrunk = wait_until(lambda: all(victim not in p.isrs for p in topic_0(admin).partitions.values()), 60,
                            f"node {victim} out of every ISR")
        assert shrunk and new_leader != victim
        # two replicas in sync are enough for acks=all with min.insync.replicas=2
        reports = []
        producer = Producer({"bootstrap.servers": kafka_cluster.plaintext_bootstrap, "acks": "all", "logger": QUIET})
        for i in range(100):
            producer.produce("topic_0", f"during-{i}".encode(), f"k{i}".encode(),
                             on_delivery=lambda err, msg: reports.append(err))
        assert producer.flush(60) == 0
        assert reports == [None] * 100
    finally:
        kafka_cluster.restart(victim)
    assert kafka_cluster.node(victim).pid != old_pid and kafka_cluster.node(victim).running()
    kafka_cluster.wait_full_isr("topic_0", timeout=120)
    kafka_cluster.wait_full_isr("__consumer_offsets", timeout=120)  # made by coordinator_of: whole for the next test
    for p in topic_0(admin).partitions.values():
        assert sorted(p.isrs) == [1, 2, 3]
