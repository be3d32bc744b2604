"""The shell face without a broker: the package check, the start lock, version and topic-name checks."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from local_kafka import jars, state, topics
from local_kafka.errors import LauncherError

ROOT = Path(__file__).resolve().parents[2]


def launcher(args, tmp_path, python_args=(), env=None):
    env = {**os.environ, "LOCAL_KAFKA_STATE": str(tmp_path / "state"), **(env or {})}
    return subprocess.run([sys.executable, *python_args, "-m", "local_kafka", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


# -- click or confluent-kafka missing ---------------------------------------------------------
def test_without_its_packages_start_names_both_says_what_to_run_and_makes_nothing(tmp_path):
    result = launcher(["start"], tmp_path, python_args=["-S"])  # -S: no site-packages
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m local_kafka: the Python packages click and confluent-kafka are not "
                               f"installed for {sys.executable}: run `make kafka-start`, or `.venv/bin/python -m "
                               "local_kafka start`")
    assert lines[0].endswith("or install them with `pip install -r requirements.txt`")
    assert list(tmp_path.iterdir()) == []


def test_one_missing_package_is_named_in_the_singular(tmp_path):
    """A confluent_kafka that cannot be imported (here a stub that raises ImportError, as a broken install does)."""
    stubs = tmp_path / "stubs" / "confluent_kafka"
    stubs.mkdir(parents=True)
    (stubs / "__init__.py").write_text("raise ImportError('no librdkafka here')\n")
    result = launcher(["create-topic", "orders"], tmp_path / "run",
                      env={"PYTHONPATH": str(tmp_path / "stubs")})
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "the Python package confluent-kafka is not installed" in lines[0]
    assert "click" not in lines[0] and "make kafka-" not in lines[0]
    assert "-m local_kafka create-topic orders`" in lines[0] and "install it with `pip install" in lines[0]
    assert not (tmp_path / "run").exists()


# -- one start at a time ----------------------------------------------------------------------
HOLD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from local_kafka.state import locked
    with locked({state_dir!r}, {action!r}):
        print("held", flush=True)
        time.sleep(60)
""")


@pytest.fixture
def held_lock(tmp_path):
    """hold(action) -> a process holding the lock of tmp_path/state for `action`, as a start or stop would."""
    procs = []

    def hold(action):
        proc = subprocess.Popen([sys.executable, "-c", HOLD.format(root=str(ROOT), state_dir=str(tmp_path / "state"),
                                                                   action=action)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline() == "held\n"
        return proc
    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_start_while_another_starts_refuses_in_one_line_and_touches_nothing(tmp_path, held_lock):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    (state_dir / "node-1").mkdir()
    (state_dir / ".made-by-local-kafka").write_text("")  # the first start's directory, deletable by a launcher
    holder = held_lock("start")
    result = launcher(["start"], tmp_path)
    assert result.returncode == 1
    assert result.stderr == (f"Error: the local Kafka in {state_dir} is being started by pid {holder.pid}; "
                             "stop it first with python -m local_kafka stop\n")
    assert sorted(p.name for p in state_dir.iterdir()) == [".made-by-local-kafka", "node-1"]
    status = launcher(["status"], tmp_path)
    assert status.returncode == 1 and status.stderr == f"not running: being started by pid {holder.pid}\n"
    shown = launcher(["config", "plaintext"], tmp_path)
    assert shown.returncode == 1 and f"still being started by pid {holder.pid}" in shown.stderr


def test_a_start_while_a_stop_runs_is_refused(tmp_path, held_lock):
    holder = held_lock("stop")
    result = launcher(["start"], tmp_path)
    assert result.returncode == 1
    assert result.stderr == (f"Error: the local Kafka in {tmp_path / 'state'} is being stopped by pid {holder.pid}; "
                             "start again once it has stopped\n")
    assert not (tmp_path / "state").exists()


def test_the_lock_is_free_again_once_its_holder_is_gone(tmp_path, held_lock):
    holder = held_lock("start")
    holder.kill()  # SIGKILL: it cannot empty the file, and the kernel drops its lock
    holder.wait()
    assert state.holder_of(tmp_path / "state") is None  # the pid written there is dead
    with state.locked(tmp_path / "state", "start"):
        assert state.holder_of(tmp_path / "state") == (os.getpid(), "start")
    assert state.holder_of(tmp_path / "state") is None
    assert oct(os.stat(state.lock_path(tmp_path / "state")).st_mode & 0o777) == "0o600"


def test_a_lock_file_planted_as_a_link_is_refused(tmp_path):
    target = tmp_path / "target"
    target.write_text("untouched")
    state.lock_path(tmp_path / "state").symlink_to(target)
    with pytest.raises(LauncherError) as e:
        with state.locked(tmp_path / "state", "start"):
            pass
    assert "cannot open the lock file" in str(e.value)
    assert target.read_text() == "untouched"


# -- --kafka-version --------------------------------------------------------------------------
def test_version_comes_from_the_argument_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.delenv("LOCAL_KAFKA_VERSION", raising=False)
    assert jars.kafka_version() == jars.KAFKA_VERSION == "4.3.1"
    monkeypatch.setenv("LOCAL_KAFKA_VERSION", "3.9.1")
    assert jars.kafka_version() == "3.9.1"
    assert jars.kafka_version("3.6.2") == "3.6.2"


@pytest.mark.parametrize("version,message", [
    ("3.5.2", "Kafka 3.5.2 is too old for local_kafka"),
    ("2.8.0", "Kafka 2.8.0 is too old"),
    ("4.1", "Kafka version '4.1' is not a release number such as 4.3.1"),
    ("latest", "is not a release number")])
def test_unusable_versions_are_refused(version, message):
    with pytest.raises(LauncherError) as e:
        jars.kafka_version(version)
    assert message in str(e.value)


def test_start_refuses_an_old_version_in_one_line_before_making_anything(tmp_path):
    result = launcher(["start", "--kafka-version", "3.5.2"], tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("Error: Kafka 3.5.2 is too old for local_kafka, which configures KRaft nodes as Kafka 3.6 "
                             "and later accept them; pick 3.6.0 or newer\n")
    assert list(tmp_path.iterdir()) == []


def test_kafka_3_gets_no_log4j2_binding_and_a_log4j_1_config(tmp_path):
    from local_kafka.node_config import write_logging_config

    assert "log4j-slf4j-impl" in jars.pom("4.3.1") and "log4j-slf4j-impl" not in jars.pom("3.9.1")
    assert "<version>3.9.1</version>" in jars.pom("3.9.1")
    assert write_logging_config(tmp_path, "3.9.1") == f"-Dlog4j.configuration=file:{tmp_path / 'log4j.properties'}"
    assert "log4j.appender.file.File=${local.kafka.log}" in (tmp_path / "log4j.properties").read_text()
    assert write_logging_config(tmp_path, "4.0.0").startswith("-Dlog4j2.configurationFile=file:")


# -- topic names and configs ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["orders", "orders-copy", "a.b_c-9", "x" * 249])
def test_names_kafka_accepts_pass(name):
    topics.check_name(name)


@pytest.mark.parametrize("name,message", [
    ("bad name", "has characters Kafka does not allow (' ')"),
    ("ordérs/x", "has characters Kafka does not allow ('/é')"),
    ("", "is not allowed"), ("..", "is not allowed"),
    ("x" * 250, "250 characters long; Kafka allows at most 249")])
def test_names_kafka_refuses_are_refused_with_the_rule(name, message):
    with pytest.raises(topics.TopicError) as e:
        topics.check_name(name)
    assert message in str(e.value) and e.value.usage


def test_configs_are_key_value_pairs():
    assert topics.parse_configs(["retention.ms=3600000", "cleanup.policy=compact", "x=a=b"]) == \
        {"retention.ms": "3600000", "cleanup.policy": "compact", "x": "a=b"}
    for bad in ("retention.ms", "=1"):
        with pytest.raises(topics.TopicError) as e:
            topics.parse_configs([bad])
        assert "expected KEY=VALUE" in str(e.value)


@pytest.mark.parametrize("args,message", [
    (["create-topic", "bad name"], "Error: topic name 'bad name' has characters Kafka does not allow"),
    (["create-topic", "ok", "--config", "nothing"], "Error: --config 'nothing': expected KEY=VALUE"),
    (["delete-topic", ".."], "Error: topic name '..' is not allowed")])
def test_bad_input_is_refused_with_exit_2_before_asking_kafka(tmp_path, args, message):
    result = launcher(args, tmp_path)
    assert result.returncode == 2 and result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("args", [["create-topic", "orders"], ["delete-topic", "orders"], ["topics"]])
def test_topic_commands_without_a_running_kafka_say_so(tmp_path, args):
    result = launcher(args, tmp_path)
    assert result.returncode == 1
    assert result.stderr == "Error: the local Kafka is not running: python -m local_kafka start\n"


# -- its own face: -h as the scripts take it, a bare call, either case ----------------------------------------
@pytest.mark.parametrize("args", [["-h"], ["--help"], []])
def test_help_is_asked_for_with_h_or_nothing_and_exits_0(tmp_path, args):
    result = launcher(args, tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("Usage: python -m local_kafka [OPTIONS] [COMMAND] [ARGS]...\n")
    assert "create-topic" in result.stdout and "Run it from the project's top directory" in result.stdout


def test_a_subcommand_takes_h_too(tmp_path):
    result = launcher(["create-topic", "-h"], tmp_path)
    assert result.returncode == 0 and "--partitions" in result.stdout


@pytest.mark.parametrize("listener", ["SASL_SSL", "sasl_ssl", "Plaintext"])
def test_config_takes_the_listener_in_the_case_status_prints_it(tmp_path, listener):
    result = launcher(["config", listener], tmp_path)
    assert result.returncode == 1  # nothing runs in this state directory: the name itself was taken
    assert result.stderr == "Error: the local Kafka is not running: python -m local_kafka start\n"


# -- the ports of the last start --------------------------------------------------------------
def listening():
    """A socket listening on a port the kernel picked, as another program would hold it."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_ports_of_the_last_start_are_kept_where_free_and_the_others_are_new():
    from local_kafka.node_config import free_ports, pick_ports

    free = free_ports(3)
    chosen, taken = pick_ports(("PLAINTEXT", "SASL_SSL", "CONTROLLER"), 2,
                               {1: {"PLAINTEXT": free[0], "SASL_SSL": free[1]}, 2: {"CONTROLLER": free[2]}})
    assert taken == []
    assert chosen[1]["PLAINTEXT"] == free[0] and chosen[1]["SASL_SSL"] == free[1] and chosen[2]["CONTROLLER"] == free[2]
    ports = [port for node in chosen.values() for port in node.values()]
    assert len(ports) == len(set(ports)) == 6  # the new ones differ from the kept ones


def test_a_port_of_the_last_start_that_is_taken_now_is_reported_and_replaced():
    from local_kafka.node_config import pick_ports

    other = listening()
    try:
        held = other.getsockname()[1]
        chosen, taken = pick_ports(("PLAINTEXT", "SASL_SSL", "CONTROLLER"), 1, {1: {"PLAINTEXT": held}})
    finally:
        other.close()
    assert chosen[1]["PLAINTEXT"] != held
    assert taken == [(1, "PLAINTEXT", held, chosen[1]["PLAINTEXT"])]


class Node:
    def __init__(self, node_id, ports):
        self.node_id, self.ports = node_id, ports


class Started:
    nodes = {1: Node(1, {"PLAINTEXT": 40001, "SASL_SSL": 40002, "CONTROLLER": 40003}),
             2: Node(2, {"PLAINTEXT": 40011, "SASL_SSL": 40012, "CONTROLLER": 40013})}


def test_the_ports_are_remembered_beside_the_state_directory_privately(tmp_path):
    state_dir = tmp_path / "state"
    assert state.remembered_ports(state_dir) == {}  # never started here
    assert state.remember_ports(Started(), state_dir) is None
    path = state.ports_path(state_dir)
    assert path == tmp_path / ".state.ports" and not state_dir.exists()  # outside what stop deletes
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert state.remembered_ports(state_dir) == {1: {"PLAINTEXT": 40001, "SASL_SSL": 40002, "CONTROLLER": 40003},
                                                 2: {"PLAINTEXT": 40011, "SASL_SSL": 40012, "CONTROLLER": 40013}}
    assert state.remember_ports(Started(), state_dir) is None  # the next start replaces it
    assert sorted(p.name for p in tmp_path.iterdir()) == [".state.ports"]


@pytest.mark.parametrize("text", ["not json", "[]", '{"nodes": {"1": {"PLAINTEXT": 70000}}}',
                                  '{"nodes": {"x": {"PLAINTEXT": 1}}}', '{"nodes": {"1": {"PLAINTEXT": "a"}}}'])
def test_a_ports_file_that_is_not_what_start_writes_is_ignored(tmp_path, text):
    state.ports_path(tmp_path / "state").write_text(text)
    assert state.remembered_ports(tmp_path / "state") == {}


def test_a_ports_file_planted_as_a_link_is_not_read(tmp_path):
    target = tmp_path / "target"
    target.write_text('{"nodes": {"1": {"PLAINTEXT": 40001}}}')
    state.ports_path(tmp_path / "state").symlink_to(target)
    assert state.remembered_ports(tmp_path / "state") == {}


def test_a_ports_file_that_cannot_be_written_is_said_in_one_line(tmp_path):
    (tmp_path / ".state.ports").mkdir()  # os.replace cannot put a file over a directory
    trouble = state.remember_ports(Started(), tmp_path / "state")
    assert trouble.startswith(f"cannot write {tmp_path / '.state.ports'}: ")
    assert [p.name for p in tmp_path.iterdir()] == [".state.ports"]  # no temporary file left


# -- create-topic --replication-factor / --on-node, and pid -------------------------------------
def cluster(nodes):
    return {"nodes": [{"node_id": i} for i in range(1, nodes + 1)]}


@pytest.mark.parametrize("nodes,args,expected", [
    (1, (6,), (6, 1)),
    (3, (6,), (6, 3)),
    (5, (2,), (2, 3)),
    (3, (1, 1, (2,)), ([[2]], 1)),
    (3, (3, None, (2,)), ([[2], [2], [2]], 1)),
    (3, (3, 2), ([[1, 2], [2, 3], [3, 1]], 2)),
    (3, (2, None, (3, 1)), ([[3, 1], [1, 3]], 2)),
    (5, (2, None, (1, 2, 3, 4)), ([[1, 2, 3], [2, 3, 4]], 3))])
def test_placement_puts_the_replicas_on_the_nodes_asked_for(nodes, args, expected):
    assert topics.placement(cluster(nodes), *args) == expected


@pytest.mark.parametrize("nodes,args,message", [
    (3, (1, None, (4,)), "--on-node 4: this local Kafka has no node 4; its nodes are 1, 2, 3"),
    (3, (1, None, (2, 2)), "--on-node 2 is given twice: a partition has at most one replica on a node"),
    (3, (1, 4), "replication factor 4 needs 4 nodes, one replica on each; this local Kafka has 3 "
                "(start it with --brokers 4 for more)"),
    (3, (1, 2, (2,)), "replication factor 2 needs 2 nodes, one replica on each; --on-node names 1")])
def test_placement_refuses_what_the_cluster_cannot_hold(nodes, args, message):
    with pytest.raises(topics.TopicError) as e:
        topics.placement(cluster(nodes), *args)
    assert str(e.value) == message and e.value.usage


def test_a_replication_factor_below_the_clusters_min_insync_replicas_brings_its_own():
    assert topics.fitted_configs(cluster(3), {}, 1) == ({"min.insync.replicas": "1"}, True)
    assert topics.fitted_configs(cluster(3), {"min.insync.replicas": "1"}, 1) == ({"min.insync.replicas": "1"}, False)
    assert topics.fitted_configs(cluster(3), {"a": "b"}, 2) == ({"a": "b"}, False)
    assert topics.fitted_configs(cluster(1), {}, 1) == ({}, False)


@pytest.mark.parametrize("args", [["pid"], ["pid", "2"],
                                  ["create-topic", "audit", "--replication-factor", "1", "--on-node", "2"]])
def test_pid_and_placed_topics_without_a_running_kafka_say_so(tmp_path, args):
    result = launcher(args, tmp_path)
    assert result.returncode == 1
    assert result.stderr == "Error: the local Kafka is not running: python -m local_kafka start\n"


@pytest.mark.parametrize("args,message", [(["pid", "0"], "0 is not in the range x>=1"),
                                          (["create-topic", "t", "--replication-factor", "0"], "x>=1"),
                                          (["create-topic", "t", "--on-node", "two"], "'two' is not a valid integer")])
def test_pid_and_placement_options_refuse_what_is_no_node_with_exit_2(tmp_path, args, message):
    result = launcher(args, tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
