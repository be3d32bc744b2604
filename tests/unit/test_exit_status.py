"""kafka_cli.core.exit_status: the one place a status is decided, and a stderr nobody reads never changes it."""

import io
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest

from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.exit_status import ExitStatus, Interrupted, _TolerantStderr, signal_status, status_of

ROOT = Path(__file__).resolve().parents[2]


def command_that(action):
    @click.command()
    def command():
        return action()
    return command


@pytest.mark.parametrize("action, status", [
    (lambda: None, ExitStatus.OK),
    (lambda: click.get_current_context().exit(ExitStatus.FAILURE), ExitStatus.FAILURE),
    (lambda: click.get_current_context().exit(130), 130),
    (lambda: (_ for _ in ()).throw(CliError("no broker")), ExitStatus.FAILURE),
    (lambda: (_ for _ in ()).throw(ConfigError("bad file")), ExitStatus.USAGE),
    (lambda: (_ for _ in ()).throw(click.UsageError("bad option")), ExitStatus.USAGE),
    (lambda: (_ for _ in ()).throw(Interrupted(15)), 143),
])
def test_each_outcome_has_one_status(action, status, capsys):
    assert status_of(command_that(action), []) == status


def test_a_signal_is_128_plus_its_number_wherever_it_is_decided():
    assert signal_status(signal.SIGINT) == 130 and signal_status(signal.SIGTERM) == 143
    assert status_of(command_that(lambda: (_ for _ in ()).throw(Interrupted(signal.SIGHUP))), []) == 129


def test_a_stderr_nobody_reads_swallows_writes():
    class Broken(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    stream = _TolerantStderr(Broken())
    assert stream.write("Error: x\n") == len("Error: x\n")
    stream.flush()


@pytest.mark.parametrize("how", ["closed", "broken pipe"])
def test_producer_exit_status_does_not_depend_on_stderr(tmp_path, how):
    """A config error is exit 2 whether stderr is closed or a pipe nobody reads; stdout stays empty."""
    config = tmp_path / "c.ini"
    config.write_text("[default]\nbootstrap.servers=<BOOTSTRAP SERVER>\n")
    out = tmp_path / "out"
    shell = (f"{sys.executable} {ROOT / 'producer.py'} {config} </dev/null >{out} "
             + ("2>&-" if how == "closed" else "2>&1 >/dev/null | true"))
    if how == "broken pipe":  # the status of producer.py, not of `true`
        shell = f"set -o pipefail; {sys.executable} {ROOT / 'producer.py'} {config} </dev/null 2>&1 >{out} | true"
    result = subprocess.run(["bash", "-c", shell], cwd=ROOT, capture_output=True, timeout=60)
    assert result.returncode == 2, result
    assert out.read_bytes() == b""
