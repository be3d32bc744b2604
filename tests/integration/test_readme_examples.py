"""Every example the README shows in a ```console block runs against the session broker, and prints what
the README says it prints, in shape.

A console block is `$ COMMAND` lines, each followed by the output it prints (stdout and stderr together,
as a terminal shows them). A command that feeds a here-document (`<<'EOF'`) takes the lines up to the
terminator with it. The blocks run in the README's order, because they tell one story: the first creates
and loads the `orders` topic that the later ones read.

What is substituted, so that the examples run on the test's broker and on nobody's data but their own:
- `config.ini` becomes the session broker's PLAINTEXT client config (`kafka.plaintext_config`);
- `python -m local_kafka create-topic NAME ...` creates a topic with the admin API under a name unique to
  this run, and that name replaces NAME in every later command. The launcher commands themselves (start,
  create-topic, ...) are tested in test_local_kafka.py against a launcher of their own; here they would
  start or touch a second Kafka, so the other launcher lines (`config`, for the cp that makes config.ini)
  are not run.

What is compared is the output's shape: the same number of lines, and the same words once what differs
from run to run is normalised (numbers: offsets, timestamps, ports, durations; ISO times; host names; the
unique topic names; generated ids). Lines are compared as sorted lists: a consumer prints partitions in
the order their messages arrive, and the README says that order varies.
"""

import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
CREATE_TOPIC = re.compile(r"^python -m local_kafka create-topic\s+(.*)$")
CONFIG_INI = re.compile(r"(?<![\w./-])config\.ini(?![\w.-])")  # config.ini, not config.ini.example


def commands_outside_console_blocks(text):
    """["line N: $ ..."] for every `$ ` line outside a ```console block: a command nobody runs, where a change of
    marking could hide every example and pass as 'all examples ran'."""
    fence, outside = None, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
        elif line.startswith("$ ") and fence != "console":
            outside.append(f"line {number}: {line}")
    return outside


def console_examples(text):
    """[(line number of the block, [(command, [expected output lines])])] for every ```console block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        start, i, examples = i + 1, i + 1, []
        while i < len(lines) and lines[i].strip() != "```":
            line = lines[i]
            i += 1
            if not line.startswith("$ "):
                if not examples:
                    raise AssertionError(f"README.md line {i}: output before any `$ ` command in a console block")
                examples[-1][1].append(line)
                continue
            command = line[2:]
            heredoc = HEREDOC.search(command)
            if heredoc:  # the document's lines up to its terminator belong to the command
                while i < len(lines) and lines[i] != heredoc.group(1):
                    command += "\n" + lines[i]
                    i += 1
                command += "\n" + heredoc.group(1)
                i += 1
            examples.append((command, []))
        blocks.append((start, examples))
        i += 1
    return blocks


def normalise(line, names, config):
    """One output line in the shape that stays the same from run to run."""
    line = unsubstitute(line, names, config).replace("localhost", "127.0.0.1")
    line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<TIME>", line)
    line = re.sub(r"\b[0-9a-f]{12,}\b", "<ID>", line)  # generated group ids and the like
    return re.sub(r"\d+", "N", line)


def shape(lines, names, config):
    return sorted(normalise(line, names, config) for line in lines)


def create_topic(kafka, args, names):
    """`create-topic NAME [--partitions N] [--config K=V ...]` done with the admin API under a unique name."""
    from confluent_kafka.admin import NewTopic

    words = shlex.split(args)
    name, partitions, configs, i = words[0], 6, {}, 1  # 6: the launcher's default
    while i < len(words):
        if words[i] == "--partitions":
            partitions = int(words[i + 1])
        elif words[i] == "--config":
            key, value = words[i + 1].split("=", 1)
            configs[key] = value
        else:
            raise AssertionError(f"create-topic option the test does not know: {words[i]}")
        i += 2
    real = f"readme-{name}-{uuid.uuid4().hex[:8]}"
    admin = kafka.admin()
    admin.create_topics([NewTopic(real, num_partitions=partitions, replication_factor=1, config=configs)])[real].result(30)
    deadline = time.monotonic() + 30  # as the launcher does: return once every partition has a leader
    while time.monotonic() < deadline:
        topic = admin.list_topics(real, timeout=10).topics.get(real)
        if topic and len(topic.partitions) == partitions and all(p.leader >= 0 for p in topic.partitions.values()):
            break
        time.sleep(0.2)
    names[name] = real


def substitute(command, names, config):
    for readme_name, real in sorted(names.items(), key=lambda item: -len(item[0])):
        command = re.sub(rf"(?<![\w-]){re.escape(readme_name)}(?![\w-])", real, command)
    return CONFIG_INI.sub(str(config), command)


def unsubstitute(line, names, config):
    for readme_name, real in names.items():
        line = line.replace(real, readme_name)
    return line.replace(str(config), "config.ini")


def run(command):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("KAFKA_TOPIC", None)  # the examples rely on the scripts' own default topic
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
    return done.stdout.decode("utf-8", "replace").splitlines()


def test_the_readme_has_console_examples():
    """A change of marking that hides every example from the test below must not pass as 'all examples ran'."""
    blocks = console_examples(README.read_text())
    assert sum(len(examples) for _, examples in blocks) >= 10, blocks


@pytest.mark.slow
@pytest.mark.local_broker_only  # the README's outputs are the local Kafka's (its loopback address, its hints)
def test_every_readme_example_runs_as_shown(kafka):
    names, failures = {}, []
    config = kafka.plaintext_config
    for start, examples in console_examples(README.read_text()):
        for command, expected in examples:
            made = CREATE_TOPIC.match(command)
            if made:
                create_topic(kafka, made.group(1), names)
                continue  # its printed line is the launcher's, checked in test_local_kafka.py
            if command.startswith("python -m local_kafka") or "$(python -m local_kafka" in command:
                continue  # the launcher's own commands: test_local_kafka.py
            got = run(substitute(command, names, config))
            if shape(got, names, config) != shape(expected, {}, config):
                got = [unsubstitute(line, names, config) for line in got]  # shown as the README would show it
                failures.append(f"README.md block at line {start}: $ {command}\n  README shows:\n    "
                                + "\n    ".join(expected) + "\n  it printed:\n    " + "\n    ".join(got))
    assert not failures, "\n\n".join(failures)
