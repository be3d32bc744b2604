"""Every example docs/cluster-views.md shows in a ```console block runs, and prints what the doc says it prints,
in shape: as test_readme_examples.py holds the README, but against the launcher's own cluster.

The doc tells one story in one terminal: its first command starts a three-node local Kafka
(`python -m local_kafka start --brokers 3`), later ones kill a node, put two consumers in the background
(`&`) and pause them (`kill -STOP %1 %2`), the last one stops the cluster. So the commands run in the doc's
order in one bash, as a person would type them (jobs and the working directory carry over), each with its
stdin closed, stdout and stderr together as a terminal shows them.

What is substituted, so that the story runs on nobody's data but its own: LOCAL_KAFKA_STATE is a directory of
this test's (its path is shown as the doc's /tmp/local-kafka-0), and `config.ini` is a file of this test's.

What is compared is the output's shape, as in test_readme_examples.py: the same number of lines, and the same
words once what differs from run to run is normalised (numbers: ports, pids, offsets, counts, durations; the
cluster id; runs of spaces, which follow the width of those numbers). Lines are compared as sorted lists.
"""

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from .test_readme_examples import CONFIG_INI, commands_outside_console_blocks, console_examples

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cluster-views.md"
SHOWN_STATE_DIR = "/tmp/local-kafka-0"  # the state directory the doc's outputs name
SLOW = {"python -m local_kafka start": 300}  # seconds a command may take; 120 for the others

pytestmark = pytest.mark.local_broker_only  # the doc's outputs are the launcher's cluster's


class Shell:
    """One bash reading the commands one at a time, its output (stdout and stderr together) read by a thread."""

    def __init__(self, env):
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def run(self, command, timeout):
        """The lines `command` prints; AssertionError if it has not finished within `timeout` seconds."""
        marker = f"--done-{uuid.uuid4().hex}--"
        # stdin closed: a command that reads it must not eat the lines that follow (background jobs get /dev/null)
        self.proc.stdin.write(f"{{ {command}\n}} < /dev/null\necho {marker}\n")
        self.proc.stdin.flush()
        out = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"not finished within {timeout} s: $ {command}\n" + "\n".join(out)) from None
            if line is None:
                raise AssertionError(f"the shell ended during: $ {command}\n" + "\n".join(out))
            if line.endswith(marker):  # the last line of the output may have had no newline
                if line != marker:
                    out.append(line[:-len(marker)])
                return out
            out.append(line)

    def children(self):
        """Pids of the shell's own children: the doc's background jobs."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if entry.name.isdigit() and int(fields[1]) == self.proc.pid:
                found.append(int(entry.name))
        return found

    def close(self):
        for pid in self.children():  # a consumer the story left paused: it would wait for its cluster for ever
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        self.proc.stdin.close()
        self.proc.wait(30)


def normalise(line, state_dir, config):
    """One output line in the shape that stays the same from run to run."""
    line = line.replace(str(state_dir), SHOWN_STATE_DIR).replace(str(config), "config.ini")
    line = line.replace("localhost", "127.0.0.1")
    line = re.sub(r"^cluster \S+ ", "cluster <ID> ", line)
    line = re.sub(r"\d+", "N", line)
    return re.sub(r"\s+", " ", line).rstrip()


def shape(lines, state_dir, config):
    return sorted(normalise(line, state_dir, config) for line in lines)


def the_examples():
    return [example for _, examples in console_examples(DOC.read_text()) for example in examples]


def test_the_doc_shows_its_commands_in_console_blocks_the_test_runs():
    """A `$ ` line outside a ```console block would be a command nobody runs; and a change of marking that hides
    every example must not pass as 'all examples ran'."""
    assert commands_outside_console_blocks(DOC.read_text()) == []
    commands = [command for command, _ in the_examples()]
    assert len(commands) >= 15 and commands[0] == "python -m local_kafka start --brokers 3", commands
    assert commands[-1] == "python -m local_kafka stop"


@pytest.mark.slow
def test_every_cluster_views_example_runs_as_shown(tmp_path):
    assert shutil.which("jq"), "docs/cluster-views.md pipes -f json into jq: install it (apt-get install jq)"
    state_dir, config = tmp_path / "state", tmp_path / "config.ini"
    env = dict(os.environ, LOCAL_KAFKA_STATE=str(state_dir),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("KAFKA_TOPIC", None)
    shell, failures = Shell(env), []
    try:
        for command, expected in the_examples():
            timeout = next((t for start, t in SLOW.items() if command.startswith(start)), 120)
            got = shell.run(CONFIG_INI.sub(str(config), command), timeout)
            if shape(got, state_dir, config) != shape(expected, state_dir, config):
                shown = [line.replace(str(state_dir), SHOWN_STATE_DIR).replace(str(config), "config.ini")
                         for line in got]
                failures.append(f"$ {command}\n  the doc shows:\n    " + "\n    ".join(expected)
                                + "\n  it printed:\n    " + "\n    ".join(shown))
    finally:
        shell.close()
        subprocess.run([sys.executable, "-m", "local_kafka", "stop"], cwd=ROOT, env=env, capture_output=True,
                       timeout=180)
    assert not failures, "\n\n".join(failures)
