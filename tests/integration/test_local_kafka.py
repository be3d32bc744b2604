"""The launcher itself: real TLS, real SASL/PLAIN, separate ports, private files, nothing left running or on disk."""

import configparser
import glob
import json
import os
import signal
import socket
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

from local_kafka.broker import KAFKA_VERSION, MARKER, SilentLogger, is_broker_process, made_by_launcher, remove_own_dir
from local_kafka.jars import kafka_version, uses_log4j2

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.local_broker_only
LISTENERS = ("plaintext", "sasl_ssl")


def try_metadata(settings, timeout=10):
    """(topics or None, the error the client reports) for a metadata request with these settings: the topics
    once it succeeds, or None as soon as the client names why it cannot (a refused login, a failed TLS check).
    A lost connection alone (seen under load before the TLS error) does not end the wait."""
    errors = []
    client = AdminClient({**settings, "error_cb": errors.append, "logger": SilentLogger()})

    def telling():
        return [e.code() for e in errors if e.code() not in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)]

    deadline = time.monotonic() + timeout
    topics = None
    while topics is None and not telling() and time.monotonic() < deadline:
        try:
            topics = client.list_topics(timeout=0.5).topics
        except Exception:
            client.poll(0.1)  # serves error_cb
    client.poll(0.5)  # an error that came with the answer, if any
    codes = telling() or [e.code() for e in errors]
    return topics, (codes[0] if codes else None)


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


def local_kafka_cli(state_dir, *args, timeout=240):
    env = {**os.environ, "LOCAL_KAFKA_STATE": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "local_kafka", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def launch(state_dir, *args):
    env = {**os.environ, "LOCAL_KAFKA_STATE": str(state_dir)}
    return subprocess.Popen([sys.executable, "-m", "local_kafka", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status").read_text()
    return "\nState:\tZ" not in status


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def wait_gone(pid, seconds=30):
    deadline = time.monotonic() + seconds
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_alive(pid)


def broker_jvms_under(directory):
    """Pids of Kafka broker JVMs whose command line names a file under `directory`."""
    return [pid for pid in jvms_under(directory)
            if "kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")]


def jvms_under(directory):
    """Pids of Kafka JVMs (broker or storage format) whose command line names a file under `directory`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "kafka." in argv and str(directory) in argv:
            found.append(int(entry.name))
    return found


# -- the shell face: python -m local_kafka --------------------------------------------------
# One launcher start serves every shell test below: it is started by two `start`s racing for the same state
# directory, and it runs the Kafka release the session's brokers do not (3.9.1 when they run 4.x, else the
# default), so that --kafka-version and both logging set-ups are exercised without a start of their own.
SUITE_VERSION = kafka_version()
OTHER_VERSION = "3.9.1" if uses_log4j2(SUITE_VERSION) else KAFKA_VERSION


class Race:
    """Two starts at one state directory, a fraction of a second apart: their results, and `status` meanwhile."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        args = ("start", "--auto-create-topics", "--kafka-version", OTHER_VERSION)
        procs = [launch(state_dir, *args)]
        time.sleep(0.3)
        procs.append(launch(state_dir, *args))
        # the refused one returns at once; the other is still starting when `status` asks
        wait_until(lambda: any(p.poll() is not None for p in procs), 120, "one start returned")
        self.loser = next(p for p in procs if p.poll() is not None)
        self.winner = next(p for p in procs if p is not self.loser)
        self.status_meanwhile = local_kafka_cli(state_dir, "status")
        self.out = {p.pid: p.communicate(timeout=240) for p in procs}
        self.state = json.loads((state_dir / "state.json").read_text()) if self.winner.returncode == 0 else None

    def settings(self, listener):
        ini = configparser.ConfigParser()
        ini.read(self.state[f"{listener}_config"])
        return dict(ini["default"])


@pytest.fixture(scope="module")
def race(tmp_path_factory):
    race = Race(tmp_path_factory.mktemp("shell") / "state")
    try:
        yield race
    finally:
        local_kafka_cli(race.state_dir, "stop")
        assert jvms_under(race.state_dir) == []


def test_two_starts_at_once_one_runs_the_other_refuses_in_one_line(race):
    winner_out, winner_err = race.out[race.winner.pid]
    assert race.winner.returncode == 0, winner_err
    assert race.loser.returncode == 1
    assert race.out[race.loser.pid] == ("", f"Error: the local Kafka in {race.state_dir} is being started by pid "
                                            f"{race.winner.pid}; stop it first with python -m local_kafka stop\n")
    assert race.status_meanwhile.returncode == 1
    assert race.status_meanwhile.stderr == f"not running: being started by pid {race.winner.pid}\n"
    # the survivor runs and serves, on both listeners
    assert f"Kafka {OTHER_VERSION} running (pid {race.state['pid']}" in winner_out
    assert is_broker_process(race.state["pid"])
    for listener in LISTENERS:
        topics, error = try_metadata(race.settings(listener))
        assert "topic_0" in topics and error is None


def test_a_start_while_it_runs_refuses_and_disturbs_nothing(race):
    # the launcher's files; the running broker's own data and logs change whenever it likes (a busy machine
    # makes a log line during the second start likely), so they say nothing about the second start
    before = {p: p.stat().st_mtime_ns for p in race.state_dir.rglob("*")
              if p.is_file() and "data" not in p.parts and p.suffix != ".log"}
    again = local_kafka_cli(race.state_dir, "start")
    assert again.returncode == 1
    assert again.stderr == (f"Error: a local Kafka is already running (pid {race.state['pid']}) in {race.state_dir}; "
                            "stop it first with python -m local_kafka stop\n")
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert is_broker_process(race.state["pid"])
    topics, error = try_metadata(race.settings("sasl_ssl"))
    assert "topic_0" in topics and error is None


def test_shell_start_status_config_use_other_ports_and_private_files(kafka, race):
    state, state_dir = race.state, race.state_dir
    assert state["plaintext_bootstrap"] != kafka.plaintext_bootstrap
    assert state["sasl_ssl_bootstrap"] != kafka.sasl_ssl_bootstrap
    winner_out, _ = race.out[race.winner.pid]
    assert state["sasl_ssl_config"] in winner_out and "creates topics on first use" in winner_out
    status = local_kafka_cli(state_dir, "status")
    assert status.returncode == 0 and "running" in status.stdout
    # the flag reached the broker: a producer's request creates a topic
    fresh = f"shell-auto-{uuid.uuid4().hex[:8]}"
    assert produce_one(race.settings("sasl_ssl"), fresh) is None
    assert partition_count(race.settings("sasl_ssl"), fresh) == 3
    for name in LISTENERS:
        shown = local_kafka_cli(state_dir, "config", name)
        assert shown.returncode == 0 and shown.stdout.strip() == state[f"{name}_config"]
    assert_private(Path(state["workdir"]), secrets_of(state["workdir"]))


def test_kafka_version_reaches_the_broker(race):
    assert race.state["kafka_version"] == OTHER_VERSION
    argv = Path(f"/proc/{race.state['pid']}/cmdline").read_bytes().decode()
    assert f"kafka_2.13-{OTHER_VERSION}.jar" in argv
    log = Path(race.state["log"]).read_text()  # Kafka 3.x writes it only if given a log4j 1 config
    assert "KafkaConfig values" in log or "Kafka Server started" in log


def script(name, config, *args, input=""):
    return subprocess.run([sys.executable, str(ROOT / name), str(config), *args], cwd=ROOT, input=input,
                          capture_output=True, text=True, timeout=120)


def test_create_topic_then_the_scripts_round_trip_on_it_over_both_listeners(race):
    name = f"orders-{uuid.uuid4().hex[:8]}"
    created = local_kafka_cli(race.state_dir, "create-topic", name, "--partitions", "3",
                              "--config", "retention.ms=3600000", "--config", "cleanup.policy=delete")
    assert created.returncode == 0, created.stderr
    assert created.stderr == f"created topic {name} (3 partitions, replication factor 1)\n"
    settings = race.settings("plaintext")
    assert partition_count(settings, name) == 3
    from confluent_kafka.admin import ConfigResource

    admin = AdminClient({**settings, "logger": SilentLogger()})
    configs = admin.describe_configs([ConfigResource("topic", name)])
    described = next(iter(configs.values())).result(30)
    assert described["retention.ms"].value == "3600000"
    listed = local_kafka_cli(race.state_dir, "topics")
    assert listed.returncode == 0
    assert [line.split() for line in listed.stdout.splitlines() if line.split()[0] in (name, "topic_0")] == \
        [[name, "3"], ["topic_0", "6"]]
    for n, listener in enumerate(LISTENERS):
        config = race.state[f"{listener}_config"]
        produced = script("producer.py", config, "-t", name, input=f"{n}:via {listener}\n")
        assert produced.returncode == 0, produced.stderr
        consumed = script("consumer.py", config, "-t", name, "-e", "-o", "beginning")
        assert consumed.returncode == 0, consumed.stderr
        assert sorted(consumed.stdout.splitlines()) == [f"{i}:via {LISTENERS[i]}" for i in range(n + 1)]


def test_topic_commands_refuse_in_one_line_with_exit_codes(race):
    name = f"once-{uuid.uuid4().hex[:8]}"
    assert local_kafka_cli(race.state_dir, "create-topic", name).returncode == 0
    cases = [(("create-topic", name), 1, f"Error: topic {name} already exists"),
             (("create-topic", "bad name"), 2, "Error: topic name 'bad name' has characters Kafka does not allow"),
             (("create-topic", "x" * 250), 2, "Error: topic name is 250 characters long"),
             (("create-topic", f"{name}-c", "--config", "no.such.config=1"), 2,
              f"Error: Kafka refused {name}-c: Unknown topic config name: no.such.config"),
             (("create-topic", f"{name}-c", "--config", "retention.ms"), 2, "Error: --config 'retention.ms': expected"),
             (("delete-topic", f"{name}-never"), 1, f"Error: there is no topic {name}-never")]
    for args, code, message in cases:
        result = local_kafka_cli(race.state_dir, *args)
        assert (result.returncode, len(result.stderr.splitlines())) == (code, 1), (args, result.stderr)
        assert result.stderr.startswith(message), (args, result.stderr)
    listed = [line.split() for line in local_kafka_cli(race.state_dir, "topics").stdout.splitlines()]
    assert [name, "6"] in listed  # the default partition count
    assert f"{name}-c" not in local_kafka_cli(race.state_dir, "topics").stdout.split()


def test_delete_topic_removes_it_even_from_an_auto_creating_broker(race):
    name = f"gone-{uuid.uuid4().hex[:8]}"
    assert local_kafka_cli(race.state_dir, "create-topic", name, "--partitions", "2").returncode == 0
    deleted = local_kafka_cli(race.state_dir, "delete-topic", name)
    assert deleted.returncode == 0 and deleted.stderr == f"deleted topic {name}\n"
    assert name not in local_kafka_cli(race.state_dir, "topics").stdout.split()
    admin = AdminClient({**race.settings("plaintext"), "logger": SilentLogger()})
    assert name not in admin.list_topics(timeout=10).topics


def test_shell_stop_leaves_nothing_and_the_commands_then_say_not_running(race):
    """Last of the shell tests: it stops the shared launcher."""
    stopped = local_kafka_cli(race.state_dir, "stop")
    assert stopped.returncode == 0 and stopped.stderr == "stopped\n"
    assert wait_gone(race.state["pid"], 5)
    assert not Path(race.state["workdir"]).exists()
    assert local_kafka_cli(race.state_dir, "status").returncode == 1
    for args in (("config", "plaintext"), ("topics",), ("create-topic", "orders")):
        result = local_kafka_cli(race.state_dir, *args)
        assert result.returncode == 1 and result.stderr == \
            "Error: the local Kafka is not running: python -m local_kafka start\n", args


def test_stop_during_a_start_cancels_it_and_leaves_nothing(tmp_path):
    state_dir = tmp_path / "state"
    starting = launch(state_dir, "start")
    try:
        # the JVM has been spawned: the costliest moment to be interrupted
        wait_until(lambda: (state_dir / "node-1" / "broker.out").exists() or starting.poll() is not None, 120,
                   "the start spawned its JVM")
        assert starting.poll() is None
        stopped = local_kafka_cli(state_dir, "stop")
        _, start_err = starting.communicate(timeout=60)
    finally:
        starting.kill()
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stderr == (f"cancelling the start under way (pid {starting.pid})\n"
                              "stopped: the start was cancelled before Kafka ran\n")
    assert starting.returncode == 128 + signal.SIGTERM
    assert start_err == (f"starting Kafka {kafka_version(None)} (1 node) in {state_dir}: usually 5-20 s\n"
                         "start cancelled (SIGTERM); nothing is left running\n")
    assert jvms_under(state_dir) == []
    assert not state_dir.exists()
    assert local_kafka_cli(state_dir, "status").returncode == 1


def started(state_dir, *args):
    """`start` in `state_dir`, asserted to succeed: (its stderr, the state it wrote)."""
    result = local_kafka_cli(state_dir, "start", *args)
    assert result.returncode == 0, result.stderr
    return result.stderr, json.loads((state_dir / "state.json").read_text())


def round_trip(config, line):
    """Produce `line` to topic_0 through `config`, then read topic_0 from the beginning: the lines read."""
    produced = script("producer.py", config, "-t", "topic_0", input=line + "\n")
    assert produced.returncode == 0, produced.stderr
    consumed = script("consumer.py", config, "-t", "topic_0", "-e", "-o", "beginning")
    assert consumed.returncode == 0, consumed.stderr
    return consumed.stdout.splitlines()


def test_a_restart_listens_where_the_last_start_did_and_says_so_when_a_port_is_taken(tmp_path):
    """start, copy the PLAINTEXT config (as the README does), stop, start: the same ports, and the copy still works.
    Then another program holds the PLAINTEXT port: the next start says which port of which listener, moves
    it, and says the copy must be made again; the SASL_SSL port stays."""
    state_dir, copy = tmp_path / "state", tmp_path / "config.ini"
    try:
        _, first = started(state_dir)
        copy.write_text(Path(first["plaintext_config"]).read_text())
        assert local_kafka_cli(state_dir, "stop").returncode == 0
        assert not state_dir.exists() and (tmp_path / ".state.ports").is_file()
        err, second = started(state_dir)
        assert "warning" not in err, err
        assert (second["plaintext_bootstrap"], second["sasl_ssl_bootstrap"]) == \
            (first["plaintext_bootstrap"], first["sasl_ssl_bootstrap"])
        assert round_trip(copy, "k:after a restart") == ["k:after a restart"]
        assert local_kafka_cli(state_dir, "stop").returncode == 0
        old = int(first["plaintext_bootstrap"].rsplit(":", 1)[1])
        with socket.socket() as other:
            other.bind(("127.0.0.1", old))
            other.listen()
            err, third = started(state_dir)
        new = int(third["plaintext_bootstrap"].rsplit(":", 1)[1])
        assert new != old and third["sasl_ssl_bootstrap"] == first["sasl_ssl_bootstrap"]
        warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
        assert warnings == [
            f"warning: port {old} (PLAINTEXT listener, as in the last start) is taken now by another program; "
            f"PLAINTEXT listens on {new} instead",
            "warning: client configs copied before this start name the old port: copy them again, e.g. "
            'cp "$(python -m local_kafka config plaintext)" config.ini'], err
        assert round_trip(third["plaintext_config"], "k:moved") == ["k:moved"]  # topic_0 is new: the data went
    finally:
        local_kafka_cli(state_dir, "stop")
    assert jvms_under(state_dir) == []


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
        if sig == signal.SIGKILL:  # the parent-death signal is set as the JVM is spawned: no need to wait for start-up
            wait_until(lambda: broker_jvms_under(given), 120, "the broker JVM spawned")
            pid, workdir = broker_jvms_under(given)[0], str(given)
        else:
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
