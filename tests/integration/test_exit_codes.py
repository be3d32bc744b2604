"""Every exit code in the README's table, produced by a real run of the scripts against the real broker.

A code added to the README without a recipe here fails the first test; a recipe whose run ends
otherwise fails its own.
"""

import fcntl
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from .scripts import ROOT, consume, produce

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def readme_exit_codes():
    section = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| (\d+(?:\+N)?) \|", section, re.M)}


def unread(pipe):
    """How many bytes written to `pipe` (our end of the producer's stdin) it has not read yet."""
    return struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


LINES = 50_000  # ~0.7 MB: read at once, and producing them takes longer than the signal takes to come
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Python 3.10+ on Linux), written out for older Pythons


def stopped_after_reading(config, topic, sig):
    """producer.py with stdin still open reads LINES lines; the signal comes the moment they have left the pipe,
    while they are still being produced, long before all are acknowledged. What was read is delivered, then
    the exit is 128+N (the README): the status, once the summary and the topic say so."""
    lines = [f"{i}:read before the {sig.name}" for i in range(LINES)]
    data = "".join(line + "\n" for line in lines).encode()
    writer = subprocess.Popen([sys.executable, str(ROOT / "producer.py"), str(config), "-t", topic],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        fcntl.fcntl(writer.stdin.fileno(), F_SETPIPE_SZ, 1 << 20)  # the whole input fits: one write, no wait
        writer.stdin.write(data)
        writer.stdin.flush()
        deadline = time.monotonic() + 60
        while unread(writer.stdin):
            assert time.monotonic() < deadline and writer.poll() is None, "producer.py never read its input"
            time.sleep(0.001)
        writer.send_signal(sig)
        code = writer.wait(60)
        err = writer.stderr.read().decode()
    finally:
        writer.kill()
    assert f"{LINES:,} delivered to {topic}, 0 failed" in err and f"stopped by {sig.name}" in err, err
    seen = consume(config, topic, "-e", "-g", f"exit-{topic}")  # from where the last recipe's reading stopped
    assert sorted(seen.stdout.decode().splitlines()) == sorted(lines), seen.stderr
    return code


def recipes(config, topic, tmp_path):
    placeholder = tmp_path / "placeholder.ini"
    placeholder.write_text("[default]\nbootstrap.servers=<BOOTSTRAP SERVER>\n")
    return {
        "0": [lambda: produce(config, topic, ["1:message 1"]).returncode,
              lambda: consume(config, topic, "-e", "-g", f"zero-{topic}").returncode],
        "1": [lambda: consume(config, f"{topic}-missing", "-e").returncode,
              lambda: produce(config, topic, ["no separator here"]).returncode],
        "2": [lambda: produce(config, topic, [], "--no-such-option").returncode,
              lambda: subprocess.run([sys.executable, str(ROOT / "consumer.py"), str(placeholder)],
                                     capture_output=True, cwd=ROOT).returncode],
        "128+N": [lambda: stopped_after_reading(config, topic, signal.SIGINT) - 128 == signal.SIGINT
                  and 128 + signal.SIGINT,
                  lambda: stopped_after_reading(config, topic, signal.SIGTERM) - 128 == signal.SIGTERM
                  and 128 + signal.SIGTERM],
    }


EXPECTED = {"0": [0, 0], "1": [1, 1], "2": [2, 2], "128+N": [130, 143]}


def test_every_documented_exit_code_has_a_recipe():
    assert readme_exit_codes() == set(EXPECTED)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_documented_exit_code_is_produced(kafka, topic, tmp_path, code):
    config = kafka.plaintext_config
    assert [run() for run in recipes(config, topic, tmp_path)[code]] == EXPECTED[code]
