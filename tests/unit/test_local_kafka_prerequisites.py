"""The launcher's messages when java, mvn or Maven Central are not there (no broker is started)."""

import os
import stat

import pytest

from local_kafka import broker, jars
from local_kafka.broker import LauncherError


def fake_command(directory, name, script):
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def bare_path(tmp_path, monkeypatch):
    """A PATH holding only what the test puts there (and sh, for the fake commands)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def test_missing_java_says_what_to_install(bare_path):
    with pytest.raises(LauncherError) as e:
        broker.check_java()
    assert str(e.value) == ("java was not found on PATH. Install a Java 17+ JDK "
                            "(Debian: apt-get install openjdk-17-jdk-headless).")


def test_old_java_is_refused_with_its_version(bare_path):
    fake_command(bare_path, "java", 'echo \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    with pytest.raises(LauncherError) as e:
        broker.check_java()
    assert "needs Java 17 or newer" in str(e.value)
    assert 'openjdk version "11.0.2"' in str(e.value)


def test_java_17_is_accepted(bare_path):
    java = fake_command(bare_path, "java", 'echo \'openjdk version "17.0.15" 2025-04-15\' >&2\n')
    assert broker.check_java() == str(java)


def test_missing_mvn_says_what_to_install(bare_path, tmp_path, monkeypatch):
    monkeypatch.setattr(jars, "CACHE_DIR", tmp_path / "cache")
    with pytest.raises(LauncherError) as e:
        broker.jar_dir()
    assert str(e.value).startswith("mvn (Apache Maven) was not found on PATH")
    assert "apt-get install maven" in str(e.value)


def test_unreachable_maven_central_is_named(bare_path, tmp_path, monkeypatch):
    monkeypatch.setattr(jars, "CACHE_DIR", tmp_path / "cache")
    fake_command(bare_path, "mvn", "echo '[ERROR] Could not transfer artifact org.apache.kafka:kafka_2.13: "
                                   "UnknownHostException: repo.maven.apache.org'\nexit 1\n")
    with pytest.raises(LauncherError) as e:
        broker.jar_dir()
    message = str(e.value)
    assert message.startswith(f"mvn could not fetch Kafka {broker.KAFKA_VERSION} from Maven Central (exit 1; full log: ")
    assert "Maven Central could not be reached" in message
    log = tmp_path / "cache" / f"kafka-{broker.KAFKA_VERSION}" / "build" / "mvn.log"
    assert "UnknownHostException" in log.read_text()
    assert not (tmp_path / "cache" / f"kafka-{broker.KAFKA_VERSION}" / "lib").exists()


def test_downloaded_jars_are_reused(bare_path, tmp_path, monkeypatch):
    """Once the cache is complete, mvn is not needed (nor run) again."""
    monkeypatch.setattr(jars, "CACHE_DIR", tmp_path / "cache")
    lib = tmp_path / "cache" / f"kafka-{broker.KAFKA_VERSION}" / "lib"
    lib.mkdir(parents=True)
    (lib / ".complete").touch()
    assert broker.jar_dir() == lib


def test_free_ports_differ():
    ports = broker.free_ports(3)
    assert len(set(ports)) == 3 and all(1024 < p < 65536 for p in ports)


def test_client_config_is_private_and_in_the_ini_shape(tmp_path):
    path = tmp_path / "c.ini"
    broker.write_client_config(path, "localhost:1", {"security.protocol": "SASL_SSL", "sasl.password": "pw"})
    text = path.read_text()
    assert "[default]\nbootstrap.servers=localhost:1\nsecurity.protocol=SASL_SSL\nsasl.password=pw\n" in text
    assert "[consumer]\ngroup.id=local-demo\nauto.offset.reset=earliest\n" in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# -- the launcher's directories and secret files -------------------------------------------
def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_new_directory_is_private_and_marked(tmp_path):
    made = broker.make_private_dir(tmp_path / "a" / "b")
    assert mode(made) == 0o700
    assert broker.made_by_launcher(made) and mode(made / broker.MARKER) == 0o600


def test_an_empty_private_directory_of_ours_is_taken_and_marked(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o700)
    broker.make_private_dir(empty)
    assert broker.made_by_launcher(empty)


def test_a_directory_others_can_read_is_refused(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o750)
    with pytest.raises(LauncherError) as e:
        broker.make_private_dir(loose)
    assert f"{loose} is open to other users (mode 0750)" in str(e.value)
    assert f"chmod 700 {loose}" in str(e.value)
    assert not (loose / broker.MARKER).exists()


def test_a_directory_of_another_user_is_refused(tmp_path, monkeypatch):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    owner = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: owner + 4242)
    with pytest.raises(LauncherError) as e:
        broker.make_private_dir(theirs)
    assert f"{theirs} belongs to uid {owner}, not to you (uid {owner + 4242})" in str(e.value)


def test_a_symbolic_link_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(LauncherError) as e:
        broker.make_private_dir(link)
    assert "is a symbolic link" in str(e.value)
    assert list(real.iterdir()) == []


def test_a_directory_with_someone_elses_files_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / ".bashrc").write_text("mine")
    with pytest.raises(LauncherError) as e:
        broker.make_private_dir(home)
    assert "is not empty, and local_kafka did not make it" in str(e.value)
    assert [p.name for p in home.iterdir()] == [".bashrc"]


def test_only_a_marked_directory_is_removed(tmp_path):
    unmarked = tmp_path / "unmarked"
    unmarked.mkdir(mode=0o700)
    (unmarked / "server.properties").write_text("x")
    assert broker.remove_own_dir(unmarked) is False
    assert (unmarked / "server.properties").exists()
    marked = broker.make_private_dir(tmp_path / "marked")
    (marked / "data").mkdir()
    assert broker.remove_own_dir(marked) is True
    assert not marked.exists()


def test_a_link_to_a_marked_directory_is_not_followed_by_remove(tmp_path):
    marked = broker.make_private_dir(tmp_path / "marked")
    link = tmp_path / "link"
    link.symlink_to(marked)
    assert broker.remove_own_dir(link) is False
    assert marked.exists() and link.is_symlink()


def test_secret_files_are_private_from_the_first_byte_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        broker.write_private(tmp_path / "s", "password")
        broker.write_client_config(tmp_path / "c.ini", "localhost:1", {"sasl.password": "pw"})
    finally:
        os.umask(old)
    assert mode(tmp_path / "s") == 0o600 and mode(tmp_path / "c.ini") == 0o600


def test_an_existing_file_or_planted_link_is_not_written_through(tmp_path):
    target = tmp_path / "target"
    target.write_text("untouched")
    link = tmp_path / "server.properties"
    link.symlink_to(target)
    with pytest.raises(LauncherError) as e:
        broker.write_private(link, "secret")
    assert "already exists" in str(e.value)
    assert target.read_text() == "untouched"


def test_certificates_keys_are_private_whatever_the_umask(tmp_path):
    tls = broker.make_private_dir(tmp_path / "tls")
    old = os.umask(0)
    try:
        broker.make_certificates(tls)
    finally:
        os.umask(old)
    keys = [p for p in tls.iterdir() if "PRIVATE KEY" in p.read_text()]
    assert {p.name for p in keys} >= {"ca-key.pem", "server-key.pem", "server-keystore.pem"}
    assert {p.name: mode(p) for p in tls.iterdir()} == {p.name: 0o600 for p in tls.iterdir()}


def test_cluster_ids_are_what_kafka_storage_accepts():
    ids = {broker.new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for i in ids)


# -- the shell face's options, without starting anything -----------------------------------
@pytest.fixture
def shell(monkeypatch, tmp_path):
    """The click group with the broker classes replaced by recorders (nothing is started)."""
    from click.testing import CliRunner

    import local_kafka.__main__ as main

    made = []

    class Recorder:
        def __init__(self, *args, **kwargs):
            made.append((type(self).__name__, args, kwargs))

        def start(self):
            raise LauncherError("recorded, not started")

        def stop(self):
            pass

    monkeypatch.setattr(main, "STATE_DIR", tmp_path / "state")
    monkeypatch.setattr(main, "read_state", lambda *args: None)
    monkeypatch.setattr(main, "LocalKafka", type("LocalKafka", (Recorder,), {}))
    monkeypatch.setattr(main, "KafkaCluster", type("KafkaCluster", (Recorder,), {}))
    return lambda *args: (CliRunner().invoke(main.cli, list(args)), made)


def test_start_defaults_to_one_broker_without_auto_creation(shell):
    result, made = shell("start")
    assert result.exit_code == 1 and "recorded, not started" in result.output
    assert made == [("LocalKafka", (), {"workdir": made[0][2]["workdir"], "keep_workdir": True,
                                        "auto_create_topics": False, "kafka_version": jars.kafka_version()})]


def test_start_options_reach_the_launcher(shell):
    _, made = shell("start", "--brokers", "3", "--auto-create-topics")
    assert made[0][0] == "KafkaCluster" and made[0][1] == (3,)
    assert made[0][2]["auto_create_topics"] is True


def test_start_refuses_a_silly_broker_count(shell):
    result, made = shell("start", "--brokers", "0")
    assert result.exit_code == 2 and "0 is not in the range 1<=x<=5" in result.output
    assert made == []


def test_two_starts_fetching_one_version_run_mvn_once(bare_path, tmp_path, monkeypatch):
    """The second waits for the first's download and uses its jars, instead of writing into the same directory."""
    import threading

    monkeypatch.setattr(jars, "CACHE_DIR", tmp_path / "cache")
    runs = tmp_path / "mvn-runs"
    fake_command(bare_path, "mvn", f'echo run >> {runs}\n/bin/sleep 1\nfor a; do case "$a" in -DoutputDirectory=*) '
                                   '/bin/mkdir -p "${a#*=}" && : > "${a#*=}/kafka_2.13.jar";; esac; done\n')
    found = []
    threads = [threading.Thread(target=lambda: found.append(jars.jar_dir("4.0.0"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    lib = tmp_path / "cache" / "kafka-4.0.0" / "lib"
    assert found == [lib, lib]
    assert runs.read_text() == "run\n"
    assert sorted(p.name for p in lib.iterdir()) == [".complete", "kafka_2.13.jar"]
