"""The pair installed, as `pip install .` (or pipx, uv tool) installs it from a clone: a real wheel built from
pyproject.toml and installed with its dependencies into a new venv, then kafka-consumer, kafka-producer and
local-kafka run from a directory outside the clone, and one round trip goes through the session broker.

The build and install take about 15 s (pip downloads the dependencies unless its cache has them), once a run: the
tests of this module share one worker (their xdist group) and the venv (a module fixture)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kafka_cli import __version__

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {"kafka-consumer": "consumer.py", "kafka-producer": "producer.py"}

pytestmark = [pytest.mark.xdist_group("installed"), pytest.mark.slow]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The venv's bin directory, after `pip install` of a copy of the clone (the build writes build/ and
    *.egg-info beside pyproject.toml: into the copy, not into the clone others work in)."""
    base = tmp_path_factory.mktemp("installed")
    source = base / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    for package in ("kafka_cli", "local_kafka"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv = base / "venv"
    # --without-pip and this pip (--python): seconds less than a venv with its own pip; --no-compile: no .pyc up front
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                             "--no-compile", str(source)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path):
    """A working directory outside the clone, and an environment that does not point into it."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {"cwd": tmp_path, "env": env}


def run(command, *args, input=b"", elsewhere, timeout=120):
    return subprocess.run([str(command), *map(str, args)], input=input, capture_output=True, timeout=timeout,
                          **elsewhere)


def test_the_packages_are_imported_from_the_venv_not_the_clone(installed, elsewhere):
    result = run(installed / "python", "-c", "import kafka_cli, local_kafka; print(kafka_cli.__file__); "
                 "print(local_kafka.__file__)", elsewhere=elsewhere)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.decode().splitlines():
        assert Path(line).is_relative_to(installed.parent), line


def test_the_wheel_holds_only_the_two_packages(installed):
    """No tests/, bench/ or stray top-level modules land in site-packages."""
    records = list(installed.parent.glob(f"lib/python3*/site-packages/kafka_cli-{__version__}.dist-info/RECORD"))
    assert len(records) == 1, records
    tops = {line.split(",")[0].split("/")[0] for line in records[0].read_text().splitlines()}
    assert tops - {"../..", ".."} == {"kafka_cli", "local_kafka", records[0].parent.name}, tops


@pytest.mark.parametrize("command", COMMANDS)
def test_version_from_any_directory(installed, elsewhere, command):
    result = run(installed / command, "--version", elsewhere=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith(f"{COMMANDS[command]} {__version__} (confluent-kafka "), result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_usage_names_the_installed_command(installed, elsewhere, command):
    result = run(installed / command, "--no-such-option", elsewhere=elsewhere)
    assert result.returncode == 2
    assert f"Usage: {command} [OPTIONS] CONFIG_FILE" in result.stderr.decode(), result.stderr


def test_the_launcher_command_runs_from_any_directory(installed, elsewhere, tmp_path):
    state = tmp_path / "state"  # a state directory of its own: never the one a developer's local Kafka uses
    elsewhere["env"]["LOCAL_KAFKA_STATE"] = str(state)
    result = run(installed / "local-kafka", "status", elsewhere=elsewhere)
    assert (result.returncode, result.stdout, result.stderr) == (1, b"", b"not running\n")


def test_a_round_trip_through_the_installed_commands(installed, elsewhere, kafka, make_topic):
    topic = make_topic(1)
    produced = run(installed / "kafka-producer", kafka.plaintext_config, "-t", topic, input=b"1:one\n2:two\n",
                   elsewhere=elsewhere)
    assert produced.returncode == 0, produced.stderr
    consumed = run(installed / "kafka-consumer", kafka.plaintext_config, "-t", topic, "-o", "beginning", "-e",
                   elsewhere=elsewhere)
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout == b"1:one\n2:two\n"
