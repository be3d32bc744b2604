"""Every example docs/schema-registry.md shows in a ```console block runs against the session's broker and real
Schema Registry (Apicurio), and prints what the doc says it prints, in shape: as test_readme_examples.py holds
the README.

The doc tells one story from the repository's root: start the local Kafka with its registry, copy its config,
create the topics, write with schemas, register one on its own, read back, and the mistakes. The commands run in
the doc's order, each in a bash of its own, stdout and stderr together as a terminal shows them.

What is substituted, so that the story runs on this run's broker and registry and on nobody's data but its own:
- `config.ini` becomes a config of this test's in the launcher's shape ([default] bootstrap.servers; [consumer] a
  group.id and auto.offset.reset=earliest; [schema_registry] the session registry's url and user);
- `python -m local_kafka create-topic NAME ...` creates the topic with the admin API under a name unique to this
  run, and that name replaces NAME in every later command (and the subjects named after it, TOPIC-value, follow);
  the launcher's other commands (start, config) are not run: test_local_kafka.py and
  test_registry_launcher.py run them against launchers of their own.
The subject the doc registers by name, `addresses`, stays as it is: the files in docs/examples/ name it, and the
session's registry is made for this run.

What is compared is the output's shape: the same lines, in any order, once numbers are normalised (offsets,
timestamps, ports, durations, schema ids), and the schema id inside a `{"base64": ...}` of stored bytes (the
registry hands out ids in the order of registration, which other tests of the session share).
"""

import base64
import re
import uuid
from pathlib import Path

from tests.integration.schema.conftest import write_registry_config
from tests.integration.test_readme_examples import (CREATE_TOPIC, commands_outside_console_blocks, console_examples,
                                                    create_topic, run, substitute, unsubstitute)
from tests.integration.test_readme_examples import normalise as readme_normalise

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "schema-registry.md"
EXAMPLES = ROOT / "docs" / "examples"
STORED_BYTES = re.compile(r'\{"base64":"([A-Za-z0-9+/=]*)"\}')


def without_schema_id(match):
    """Stored bytes in Confluent's wire format with the schema id zeroed: the rest must still be the doc's."""
    data = base64.b64decode(match.group(1))
    if len(data) >= 5 and data[0] == 0:
        data = data[:1] + bytes(4) + data[5:]
    return '{"base64":"' + base64.b64encode(data).decode("ascii") + '"}'


def shape(lines, names, config):
    return sorted(readme_normalise(STORED_BYTES.sub(without_schema_id, line), names, config) for line in lines)


def the_examples():
    return [example for _, examples in console_examples(DOC.read_text()) for example in examples]


def test_the_doc_shows_its_commands_in_console_blocks_and_its_files_are_in_the_repository():
    """A `$ ` line outside a console block would be a command nobody runs; a change of marking that hides every
    example must not pass as 'all examples ran'. Every file of docs/examples/ is one the doc uses, and every
    docs/examples/ path it names is there."""
    assert commands_outside_console_blocks(DOC.read_text()) == []
    commands = [command for command, _ in the_examples()]
    assert len(commands) >= 20 and commands[0] == "python -m local_kafka start --schema-registry", commands
    named = set(re.findall(r"docs/examples/([\w.-]+)", DOC.read_text()))
    assert named == {path.name for path in EXAMPLES.iterdir()}
    used = set(re.findall(r"docs/examples/([\w.-]+)", "\n".join(commands)))
    assert used == named, "a file named in the prose but used by no example"


def test_every_schema_registry_example_runs_as_shown(kafka, schema_registry, tmp_path):
    config = write_registry_config(tmp_path / "config.ini", kafka, [
        "", "[consumer]", f"group.id=docs-{uuid.uuid4().hex[:8]}", "auto.offset.reset=earliest",
        "", "[schema_registry]", f"url={schema_registry.url}", f"basic.auth.user.info={schema_registry.user_info}"])
    names, failures = {}, []
    for command, expected in the_examples():
        made = CREATE_TOPIC.match(command)
        if made:
            create_topic(kafka, made.group(1), names)
            continue  # its printed line is the launcher's, checked in test_local_kafka.py
        if command.startswith("python -m local_kafka") or "$(python -m local_kafka" in command:
            continue  # the launcher's own commands: test_local_kafka.py, test_registry_launcher.py
        got = run(substitute(command, names, config))
        if shape(got, names, config) != shape(expected, {}, config):
            got = [unsubstitute(line, names, config) for line in got]  # shown as the doc would show it
            failures.append(f"$ {command}\n  the doc shows:\n    " + "\n    ".join(expected)
                            + "\n  it printed:\n    " + "\n    ".join(got))
    assert not failures, "\n\n".join(failures)
