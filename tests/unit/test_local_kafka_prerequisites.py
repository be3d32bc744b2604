"""The launcher's messages when java, mvn or Maven Central are not there (no broker is started)."""

import os
import stat

import pytest

from local_kafka import broker
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
    monkeypatch.setattr(broker, "CACHE_DIR", tmp_path / "cache")
    with pytest.raises(LauncherError) as e:
        broker.jar_dir()
    assert str(e.value).startswith("mvn (Apache Maven) was not found on PATH")
    assert "apt-get install maven" in str(e.value)


def test_unreachable_maven_central_is_named(bare_path, tmp_path, monkeypatch):
    monkeypatch.setattr(broker, "CACHE_DIR", tmp_path / "cache")
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
    monkeypatch.setattr(broker, "CACHE_DIR", tmp_path / "cache")
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
