"""Every exit code in the README's table, produced by a real run of the scripts against the real broker.

A code added to the README without a recipe here fails the first test; a recipe whose run ends
otherwise fails its own.
"""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .scripts import ROOT, consume, produce

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def readme_exit_codes():
    section = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| (\d+(?:\+N)?) \|", section, re.M)}


def stopped_after_delivering(config, topic, sig):
    """producer.py with stdin still open: one line delivered, then the signal. Its exit status."""
    writer = subprocess.Popen([sys.executable, str(ROOT / "producer.py"), str(config), "-t", topic],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        writer.stdin.write(b"k:delivered before the signal\n")
        writer.stdin.flush()
        seen = consume(config, topic, "-n", "1", "--timeout", "30", "-g", f"exit-{topic}")
        assert seen.stdout == b"k:delivered before the signal\n"
        time.sleep(0.3)  # the delivery report is served within the producer's next 0.2 s poll
        writer.send_signal(sig)
        return writer.wait(60)
    finally:
        writer.kill()


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
        "128+N": [lambda: stopped_after_delivering(config, topic, signal.SIGINT) - 128 == signal.SIGINT
                  and 128 + signal.SIGINT,
                  lambda: stopped_after_delivering(config, topic, signal.SIGTERM) - 128 == signal.SIGTERM
                  and 128 + signal.SIGTERM],
    }


EXPECTED = {"0": [0, 0], "1": [1, 1], "2": [2, 2], "128+N": [130, 143]}


def test_every_documented_exit_code_has_a_recipe():
    assert readme_exit_codes() == set(EXPECTED)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_documented_exit_code_is_produced(kafka, topic, tmp_path, code):
    config = kafka.plaintext_config
    assert [run() for run in recipes(config, topic, tmp_path)[code]] == EXPECTED[code]
