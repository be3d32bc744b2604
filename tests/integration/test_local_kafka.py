"""The launcher itself: real TLS, real SASL/PLAIN, separate ports, private files, nothing left running or on disk."""

import configparser
import glob
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient

from local_kafka.broker import MARKER, SilentLogger, made_by_launcher, remove_own_dir

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
    started = local_kafka_cli(state_dir, "start", "--auto-create-topics")
    assert started.returncode == 0, started.stderr
    state = json.loads((state_dir / "state.json").read_text())
    try:
        assert state["plaintext_bootstrap"] != kafka.plaintext_bootstrap
        assert state["sasl_ssl_bootstrap"] != kafka.sasl_ssl_bootstrap
        assert state["sasl_ssl_config"] in started.stdout
        assert "creates topics on first use" in started.stdout
        status = local_kafka_cli(state_dir, "status")
        assert status.returncode == 0 and "running" in status.stdout
        # its SASL_SSL config works as it is, and the flag reached the broker: a producer's request creates a topic
        ini = configparser.ConfigParser()
        ini.read(state["sasl_ssl_config"])
        topics, error = try_metadata(dict(ini["default"]))
        assert "topic_0" in topics and error is None
        fresh = f"shell-auto-{uuid.uuid4().hex[:8]}"
        assert produce_one(dict(ini["default"]), fresh) is None
        assert partition_count(dict(ini["default"]), fresh) == 3
        for name in ("plaintext", "sasl_ssl"):
            shown = local_kafka_cli(state_dir, "config", name)
            assert shown.returncode == 0 and shown.stdout.strip() == state[f"{name}_config"]
        assert_private(Path(state["workdir"]), secrets_of(state["workdir"]))
    finally:
        stopped = local_kafka_cli(state_dir, "stop")
    assert stopped.returncode == 0
    assert wait_gone(state["pid"], 5)
    assert not Path(state["workdir"]).exists()
    assert local_kafka_cli(state_dir, "status").returncode == 1
    config = local_kafka_cli(state_dir, "config", "plaintext")
    assert config.returncode == 1 and "not running" in config.stderr and "Traceback" not in config.stderr


HOLDER = """
import signal, sys, time
# Ctrl-C as in a terminal: a shell starts background jobs (CI's, for one) with SIGINT ignored, and children inherit that
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {root!r})
from local_kafka import LocalKafka
with LocalKafka({workdir}) as broker:
    print(broker.pid, broker.workdir, flush=True)
    time.sleep(600)
"""


def launcher_tmp_dirs():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "local-kafka-*")))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_no_jvm_survives_its_owner(sig, tmp_path):
    """Ctrl-C runs the clean stop; even SIGKILL of the owner takes the JVM down (parent-death signal).

    A SIGKILLed owner cannot delete anything, so there the data lives in a directory this test gives and
    removes: the launcher must have marked it as its own. Ctrl-C uses the default /tmp/local-kafka-*."""
    given = tmp_path / "kafka" if sig == signal.SIGKILL else None
    before = launcher_tmp_dirs()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT), workdir=repr(given and str(given)))],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid, workdir = holder.stdout.readline().split()
        pid = int(pid)
        assert pid_alive(pid)
        holder.send_signal(sig)
        holder.wait(60)
        assert wait_gone(pid, 40)
        if sig == signal.SIGKILL:
            assert workdir == str(given) and made_by_launcher(workdir)
            assert remove_own_dir(workdir)
        assert not Path(workdir).exists()
        assert launcher_tmp_dirs() <= before
    finally:
        holder.kill()
        holder.wait()


# -- auto-creation of topics ---------------------------------------------------------------
def produce_one(settings, topic):
    """The delivery error (None if delivered) of one message to `topic`. The producer's metadata requests
    allow the broker to create the topic; within the 5 s message timeout it asks several times."""
    reports = []
    producer = Producer({**settings, "message.timeout.ms": 5000, "logger": SilentLogger()})
    producer.produce(topic, b"v", b"k", on_delivery=lambda err, msg: reports.append(err))
    producer.flush(30)
    assert len(reports) == 1
    return reports[0]


def partition_count(settings, topic, timeout=30):
    """Partitions of `topic` once the cluster's metadata names it (None if it never does within `timeout`)."""
    client = AdminClient({**settings, "logger": SilentLogger()})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = client.list_topics(timeout=10).topics.get(topic)
        if found is not None and found.error is None:
            return len(found.partitions)
        time.sleep(0.2)
    return None


def test_auto_create_broker_makes_a_topic_a_producer_asks_for(kafka_autocreate):
    fresh = f"auto-{uuid.uuid4().hex[:8]}"
    settings = kafka_autocreate.client_settings("sasl_ssl")
    assert fresh not in kafka_autocreate.admin().list_topics(timeout=10).topics
    # one metadata request from a producer; the answer itself may still say "unknown", the topic follows
    Producer({**settings, "logger": SilentLogger()}).list_topics(fresh, timeout=10)
    assert partition_count(settings, fresh) == 3
    assert produce_one(settings, fresh) is None


def test_default_broker_creates_no_topic_on_request(kafka):
    fresh = f"no-auto-{uuid.uuid4().hex[:8]}"
    settings = kafka.client_settings("plaintext")
    error = produce_one(settings, fresh)
    assert error is not None and error.code() in (KafkaError._MSG_TIMED_OUT, KafkaError.UNKNOWN_TOPIC_OR_PART,
                                                  KafkaError._UNKNOWN_TOPIC)
    assert fresh not in kafka.admin().list_topics(timeout=10).topics


# -- secrets stay private ----------------------------------------------------------------
def secrets_of(workdir):
    """Every file under `workdir` holding a private key or one of the passwords in the client configs."""
    passwords = set()
    for ini in Path(workdir).glob("client-*.ini"):
        parser = configparser.ConfigParser()
        parser.read(ini)
        passwords.update(v for k, v in parser["default"].items() if k == "sasl.password")
    props = (Path(workdir) / "node-1" / "server.properties").read_text()
    passwords.update(part.split('"')[1] for part in props.split() if "password=" in part or part.startswith("user_"))
    assert len(passwords) >= 3  # admin, alice, bob
    found = set()
    for path in Path(workdir).rglob("*"):
        try:
            data = path.read_bytes() if path.is_file() else b""
        except FileNotFoundError:  # the broker rolls its own files
            continue
        if b"PRIVATE KEY" in data or any(pw.encode() in data for pw in passwords):
            found.add(path.relative_to(workdir).as_posix())
    return found


def assert_private(workdir, secret_files):
    assert {"node-1/server.properties", "client-sasl-ssl.ini", "tls/server-keystore.pem", "tls/ca-key.pem",
            "tls/server-key.pem"} <= secret_files
    assert not {name for name in secret_files if "broker.log" in name or "broker.out" in name}, "a password in a log"
    loose = []
    for path in [Path(workdir), *Path(workdir).rglob("*")]:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if (stat.S_ISDIR(st.st_mode) and mode != 0o700) or mode & 0o077 or st.st_uid != os.getuid():
            loose.append(f"{path} {mode:04o}")
    assert loose == []


def test_every_file_of_a_running_broker_is_private(kafka):
    workdir = kafka.workdir
    assert made_by_launcher(workdir) and (workdir / MARKER).is_file()
    assert_private(workdir, secrets_of(workdir))


def test_shell_refuses_a_state_directory_others_can_read(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    started = local_kafka_cli(loose, "start")
    assert started.returncode == 1
    assert f"{loose} is open to other users (mode 0755)" in started.stderr
    assert "Traceback" not in started.stderr
    assert list(loose.iterdir()) == []


def test_shell_stop_leaves_a_directory_it_did_not_make(tmp_path):
    """A state file in a directory without the launcher's marker (LOCAL_KAFKA_STATE at one's home, say):
    stop deletes nothing."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    gone_pid = subprocess.Popen(["true"])
    gone_pid.wait()
    (home / "state.json").write_text(json.dumps({"workdir": str(home), "nodes": [{"node_id": 1, "pid": gone_pid.pid}]}))
    (home / "notes.txt").write_text("mine")
    stopped = local_kafka_cli(home, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "left" in stopped.stderr and "did not make it" in stopped.stderr
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt", "state.json"]
    started = local_kafka_cli(home, "start")
    assert started.returncode == 1 and "did not make" in started.stderr and "Traceback" not in started.stderr
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt", "state.json"]
