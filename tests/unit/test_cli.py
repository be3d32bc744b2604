"""producer.py and consumer.py through click: errors found before any broker is contacted.

Everything here fails while reading the options, the config file, or when librdkafka
checks the configuration in the client's constructor: no network is used.
"""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kafka_cli.cli import consumer
from kafka_cli.cli import producer

ROOT = Path(__file__).resolve().parents[2]

SCRIPTS = [pytest.param(producer.main, "producer.py", "producer", id="producer"),
           pytest.param(consumer.main, "consumer.py", "consumer", id="consumer")]
GOOD = "[default]\nbootstrap.servers=127.0.0.1:1\n"


def run(command, prog, *args):
    args = list(args)
    if args and args != ["--help"]:
        # consumer: else a warning about the generated group.id comes first; producer: should a test
        # wrongly get as far as looking for a broker, give up after 1 s, not 30. Later options win.
        args = (["-g", "unit-test-group"] if command is consumer.main else ["--timeout", "1"]) + args
    result = CliRunner().invoke(command, args, prog_name=prog, input="")
    # A traceback would show up here rather than on stderr: make it visible.
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    return result


def usage_error(prog, message):
    return f"Usage: {prog} [OPTIONS] CONFIG_FILE\nTry '{prog} --help' for help.\n\nError: {message}\n"


# -- --help -------------------------------------------------------------------------------
PRODUCER_EXAMPLES = """\
  Examples:
    printf '1:message 1\\n2:message 2\\n' | ./producer.py config.ini
    ./producer.py config.ini -t orders -K '|' < orders.txt
    ./producer.py config.ini --no-key -H source=import < lines.txt
    ./producer.py config.ini -X compression.type=zstd --skip-bad-lines < big.txt
"""
CONSUMER_EXAMPLES = """\
  Examples:
    ./consumer.py config.ini                        # topic_0, until Ctrl-C
    ./consumer.py config.ini --from-beginning -e > all.txt
    ./consumer.py config.ini -t orders -g billing -n 100
    ./consumer.py config.ini -f json | jq .value
    ./consumer.py config.ini -f verbose             # partition, offset, time
"""


@pytest.mark.parametrize("command, prog, examples", [(producer.main, "producer.py", PRODUCER_EXAMPLES),
                                                     (consumer.main, "consumer.py", CONSUMER_EXAMPLES)])
def test_help_has_an_examples_block(command, prog, examples):
    result = run(command, prog, "--help")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.startswith(f"Usage: {prog} [OPTIONS] CONFIG_FILE\n")
    # verbatim (\b), not re-wrapped, in the epilog after the options
    assert result.stdout.index("\nOptions:\n") < result.stdout.index("\n\n" + examples + "\n")
    for option in ("-X, --property KEY=VALUE", "-q, --quiet", "-v, --verbose", "-t, --topic", "-K, --key-separator"):
        assert option in result.stdout


# -- the config file argument -----------------------------------------------------------------
@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_missing_config_file(command, prog, role, tmp_path):
    path = tmp_path / "nope.ini"
    result = run(command, prog, str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    example = "config.ini.example" if os.path.exists("config.ini.example") else str(ROOT / "config.ini.example")
    assert result.stderr == usage_error(prog, f"Invalid value for 'CONFIG_FILE': File '{path}' does not exist. "
                                              f"Make it from the example and fill it in: cp {example} {path}")


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_config_file_is_a_directory(command, prog, role, tmp_path):
    result = run(command, prog, str(tmp_path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == usage_error(prog, f"Invalid value for 'CONFIG_FILE': File '{tmp_path}' is a directory.")


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_no_config_file_given(command, prog, role):
    result = run(command, prog)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == usage_error(prog, "Missing argument 'CONFIG_FILE'.")


# -- errors in the config file: exit 2, 'Error: ...' naming file and property -------------------
CONFIG_ERRORS = [
    pytest.param("[default]\nbootstrap.servers=b:1\nsasl.username=<API KEY>\n",
                 "{path} line 3 [default] sasl.username: still holds the placeholder <API KEY> from "
                 "config.ini.example; fill in the real value", id="placeholder"),
    pytest.param("[default]\nbootstrap.servers=b:1\n[{role}]\nclient.id=${{KAFKA_CLI_TEST_UNSET}}\n",
                 "{path} line 4 [{role}] client.id: environment variable KAFKA_CLI_TEST_UNSET is not set "
                 "(referenced as ${{KAFKA_CLI_TEST_UNSET}})", id="unset-env"),
    pytest.param("[default]\nbootstrap.servers=b:1\n[{role}]\nacks=1\nacks=all\n",
                 "{path} line 5 [{role}]: acks is set twice (also on line 4)", id="duplicate"),
    pytest.param("[default]\nsecurity.protocol=SASL_SSL\n",
                 "{path}: bootstrap.servers is not set in [default]; it is the cluster's host:port", id="no-bootstrap"),
    pytest.param("[default]\nbootstrap.servers=\n",
                 "{path} line 2 [default] bootstrap.servers: is empty; it is the cluster's host:port",
                 id="empty-bootstrap"),
    pytest.param("[default]\nbootstrap.servers=b:1\nlinger.ms\n",
                 "{path} line 3: expected 'property=value', got 'linger.ms'", id="no-equals"),
    pytest.param("[defaul\nbootstrap.servers=b:1\n", "{path} line 1: malformed section header '[defaul'",
                 id="bad-header"),
    pytest.param(b"[default]\nbootstrap.servers=b:1\x00\n",
                 "{path}: holds binary data (NUL bytes), not an INI config file", id="binary"),
    pytest.param(b"[default]\nbootstrap.servers=b:1\nclient.id=\xff\n",
                 "{path} line 3: not UTF-8 text (bad byte at offset 42)", id="not-utf8"),
    pytest.param(GOOD + "#" * (1024 * 1024),
                 "{path}: 1,048,616 bytes is far too large for a config file (limit 1,048,576)", id="too-large"),
]


@pytest.mark.parametrize("content, message", CONFIG_ERRORS)
@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_config_error(command, prog, role, content, message, write_config, monkeypatch):
    monkeypatch.delenv("KAFKA_CLI_TEST_UNSET", raising=False)
    if isinstance(content, str):
        content = content.format(role=role)
    path = write_config(content)
    result = run(command, prog, path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "Error: " + message.format(path=path, role=role) + "\n"


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_other_roles_section_is_not_read(command, prog, role, write_config):
    """A property librdkafka rejects in the other script's section does not concern this one."""
    other = "consumer" if role == "producer" else "producer"
    path = write_config(GOOD + f"[{other}]\nfoo.bar=1\n[{role}]\nbaz.qux=1\n")
    result = run(command, prog, path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path} line 6 [{role}]: baz.qux is not a Kafka client property " \
                            "(librdkafka does not know it)\n"


# -- librdkafka refusing a property: exit 2, naming the property and where it was set ------------
@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_unknown_property_in_the_file(command, prog, role, write_config):
    path = write_config(GOOD + f"[{role}]\n# typo\nfoo.bar=1\n")
    result = run(command, prog, path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"Error: {path} line 5 [{role}]: foo.bar is not a Kafka client property "
                             "(librdkafka does not know it)\n")


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_unknown_property_in_default_section(command, prog, role, write_config):
    path = write_config(GOOD + "foo.bar=1\n")
    result = run(command, prog, path)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path} line 3 [default]: foo.bar is not a Kafka client property "
                             "(librdkafka does not know it)\n")


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_unknown_property_from_x(command, prog, role, write_config):
    result = run(command, prog, write_config(GOOD), "-X", "foo.bar=1")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "Error: -X foo.bar: foo.bar is not a Kafka client property (librdkafka does not know it)\n"


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_x_replaces_a_bad_value_from_the_file(command, prog, role, write_config):
    """-X wins over the file: the file's unknown value is never seen by librdkafka, -X's is."""
    path = write_config(GOOD + "security.protocol=bogus\n")
    result = run(command, prog, path, "-X", "security.protocol=alsobogus", "-X", "foo.bar=1")
    assert result.exit_code == 2
    assert "bogus" not in result.stderr.replace("alsobogus", "")
    assert result.stderr.startswith("Error: -X ")


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_invalid_value_in_the_file_names_line_and_property(command, prog, role, write_config):
    path = write_config(GOOD + "security.protocol=bogus\n")
    result = run(command, prog, path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {path} line 3 [default]: security.protocol: Invalid value \"bogus\" "
                                    "for configuration property \"security.protocol")


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_invalid_value_from_x(command, prog, role, write_config):
    result = run(command, prog, write_config(GOOD), "-X", "security.protocol=bogus")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ('Error: -X security.protocol: security.protocol: Invalid value "bogus" for '
                             'configuration property "security.protocol"\n')


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
@pytest.mark.parametrize("setting, canonical", [("acks=banana", "request.required.acks"),
                                                ("linger.ms=abc", "queue.buffering.max.ms")])
def test_invalid_value_of_an_aliased_property_names_where_it_was_set(command, prog, role, setting, canonical,
                                                                    write_config):
    """librdkafka names the canonical property; the message still says where the user's alias was set."""
    path = write_config(GOOD + f"[{role}]\n{setting}\n")
    name = setting.partition("=")[0]
    result = run(command, prog, path)
    assert result.exit_code == 2
    assert result.stderr == (f'Error: {path} line 4 [{role}]: {name}: Invalid value for configuration property '
                             f'"{canonical}"\n')


def test_out_of_range_value_message_is_one_line(write_config):
    result = run(producer.main, "producer.py", write_config(GOOD), "-X", "linger.ms=-5")
    assert result.exit_code == 2
    assert result.stderr == ('Error: -X linger.ms: linger.ms: Configuration property "queue.buffering.max.ms" '
                             'value -5 is outside allowed range 0..900000\n')


def test_python_level_boolean_property(write_config):
    path = write_config(GOOD + "[producer]\ndelivery.report.only.error=yes\n")
    result = run(producer.main, "producer.py", path)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path} line 4 [producer]: delivery.report.only.error must be true or false, "
                             "not 'yes'\n")


# -- option errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("command, prog, role", SCRIPTS)
@pytest.mark.parametrize("item", ["acks", "=all"])
def test_x_without_equals(command, prog, role, item, write_config):
    result = run(command, prog, write_config(GOOD), "-X", item)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: -X {item!r}: expected KEY=VALUE\n"


def test_producer_header_without_equals(write_config):
    result = run(producer.main, "producer.py", write_config(GOOD), "-H", "source")
    assert result.exit_code == 2
    assert result.stderr == "Error: -H 'source': expected NAME=VALUE\n"


def test_producer_empty_key_separator(write_config):
    result = run(producer.main, "producer.py", write_config(GOOD), "-K", "")
    assert result.exit_code == 2
    assert result.stderr == usage_error("producer.py", "Invalid value for '-K' / '--key-separator': must not be empty")


def test_producer_negative_timeout(write_config):
    result = run(producer.main, "producer.py", write_config(GOOD), "--timeout", "-1")
    assert result.exit_code == 2
    assert result.stderr == usage_error("producer.py", "Invalid value for '--timeout': -1.0 is not in the range x>0.")


@pytest.mark.parametrize("args, message", [
    (["-f", "xml"], "Invalid value for '-f' / '--format': 'xml' is not one of 'text', 'json', 'verbose'."),
    (["-n", "0"], "Invalid value for '-n' / '--max-messages': 0 is not in the range x>=1."),
])
def test_consumer_option_errors(args, message, write_config):
    result = run(consumer.main, "consumer.py", write_config(GOOD), *args)
    assert result.exit_code == 2
    assert result.stderr == usage_error("consumer.py", message)


def test_bootstrap_servers_from_x_only(write_config):
    path = write_config("[default]\nsecurity.protocol=PLAINTEXT\n")
    result = run(producer.main, "producer.py", path, "-X", "bootstrap.servers=127.0.0.1:1", "--timeout", "1", "-q")
    # With no broker on port 1 it gets as far as looking for one: exit 1, not a config error.
    assert "bootstrap.servers is not set" not in result.stderr
    assert result.exit_code == 1
    assert "Error: " in result.stderr and "127.0.0.1:1" in result.stderr


# -- the permission warning, through the command ---------------------------------------------------
@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_permission_warning_comes_before_the_error(command, prog, role, write_config):
    path = write_config(GOOD + "sasl.password=S3cr3tValue\nfoo.bar=1\n", mode=0o644)
    result = run(command, prog, path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{prog}: {path} holds a password and is readable by others; fix with: chmod 600 {path}\n"
        f"Error: {path} line 4 [default]: foo.bar is not a Kafka client property (librdkafka does not know it)\n")


@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_quiet_drops_the_permission_warning(command, prog, role, write_config):
    path = write_config(GOOD + "sasl.password=S3cr3tValue\nfoo.bar=1\n", mode=0o644)
    result = run(command, prog, path, "-q")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path} line 4 [default]: foo.bar is not a Kafka client property "
                             "(librdkafka does not know it)\n")


# -- the password never shows ---------------------------------------------------------------------
SECRET = "S3cr3tValue"
WITH_PASSWORD = "[default]\nbootstrap.servers=127.0.0.1:1\nsasl.username=alice\nsasl.password=S3cr3tValue\n"
LEAK_CASES = [
    pytest.param(WITH_PASSWORD + "foo.bar=1\n", [], id="unknown-property"),
    pytest.param(WITH_PASSWORD, ["-X", "foo.bar=1"], id="unknown-property-x"),
    pytest.param(WITH_PASSWORD + "security.protocol=bogus\n", [], id="invalid-value"),
    pytest.param(WITH_PASSWORD + "sasl.mechanisms=<MECHANISM>\n", [], id="placeholder"),
    pytest.param(WITH_PASSWORD + "sasl.password=S3cr3tValue\n", [], id="duplicate-password"),
    pytest.param(WITH_PASSWORD + "client.id=${KAFKA_CLI_TEST_UNSET}\n", [], id="unset-env"),
    pytest.param(WITH_PASSWORD + "nonsense\n", [], id="no-equals"),
    pytest.param(WITH_PASSWORD + "[broken\n", [], id="bad-header"),
    pytest.param(WITH_PASSWORD.encode() + b"client.id=\xff\n", [], id="not-utf8"),
    pytest.param(WITH_PASSWORD, ["-X", "sasl.password=S3cr3tValue", "-X", "sasl.mechanisms=BOGUS",
                                 "-X", "foo.bar=1"], id="x"),
    pytest.param(WITH_PASSWORD.replace("sasl.password=", "sasl.password=${KAFKA_CLI_TEST_PW}x"),
                 ["-X", "debug=bogus"], id="from-env"),
    pytest.param(WITH_PASSWORD + 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule '
                 'required username="alice" password="S3cr3tValue";\n', [], id="java-jaas-config"),
]


@pytest.mark.parametrize("content, args", LEAK_CASES)
@pytest.mark.parametrize("command, prog, role", SCRIPTS)
def test_password_never_in_error_output(command, prog, role, content, args, write_config, monkeypatch):
    monkeypatch.delenv("KAFKA_CLI_TEST_UNSET", raising=False)
    monkeypatch.setenv("KAFKA_CLI_TEST_PW", "S3cr3t")  # with the trailing x: ${..}x -> S3cr3tx
    result = run(command, prog, write_config(content, mode=0o644), *args, "-v")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("Error: ") == 1
    assert SECRET not in result.stderr
    assert "S3cr3tx" not in result.stderr


@pytest.mark.parametrize("line", ["sasl.password: S3cr3tValue", "sasl.password S3cr3tValue",
                                  "sasl.password\tS3cr3tValue"])
def test_password_line_without_equals_is_not_printed(line, write_config):
    path = write_config(f"[default]\nbootstrap.servers=b:1\n{line}\n")
    result = run(producer.main, "producer.py", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path} line 3: ")
    assert SECRET not in result.stderr


@pytest.mark.parametrize("value", ["Ab${S3 cr3t}Cd", "Ab${S3:cr3t}Cd"])
def test_part_of_a_password_is_not_printed(value, write_config, monkeypatch):
    monkeypatch.delenv("S3cr3t", raising=False)
    path = write_config(f"[default]\nbootstrap.servers=b:1\nsasl.password={value}\n")
    result = run(producer.main, "producer.py", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path} line 3 [default] sasl.password: ")
    assert "S3" not in result.stderr.replace(path, "")


@pytest.mark.parametrize("value, shown", [("<API SECRET>", "<API SECRET>"),
                                          ("${KAFKA_CLI_TEST_UNSET}", "${KAFKA_CLI_TEST_UNSET}")])
def test_error_about_the_password_line_shows_what_is_wrong(value, shown, write_config, monkeypatch):
    monkeypatch.delenv("KAFKA_CLI_TEST_UNSET", raising=False)
    path = write_config(f"[default]\nbootstrap.servers=b:1\nsasl.password={value}\n")
    result = run(producer.main, "producer.py", path)
    assert result.exit_code == 2
    assert "***" not in result.stderr
    assert shown in result.stderr


# -- values that would reach confluent-kafka's C code: refused first, one line, exit 2 -------------------------
@pytest.mark.parametrize("args, says", [
    (["-t", "t\udcff"], "Invalid value for '-t' / '--topic': the topic name is not valid UTF-8 (byte \\xff at "
                        "position 1)"),
    (["-t", "a b"], "Invalid value for '-t' / '--topic': the topic name may hold only ASCII letters, digits, '.', "
                    "'_' and '-' (Kafka's rule for topic names)"),
    (["-H", "\udcff=v"], "-H \\udcff=...: the header name is not valid UTF-8 (byte \\xff at position 0)"),
    # the same typo, the same usage error as consumer.py gives (one click type reads the escapes in both)
    (["-K", "\\x"], "Invalid value for '-K' / '--key-separator': \\x at position 0 must be followed by two hex "
                    "digits (\\xHH), or write \\\\x"),
    (["-K", "ab\\xZZ"], "Invalid value for '-K' / '--key-separator': \\x at position 2 must be followed by two hex "
                        "digits (\\xHH), or write \\\\x"),
    (["-X", "a\udcff=1"], "-X a\\udcff: the property name is not valid UTF-8 (byte \\xff at position 1)"),
    (["-X", "sasl.password:hunter2"], "-X 'sasl.password ...': expected KEY=VALUE"),
])
def test_producer_refuses_what_would_crash_the_client(write_config, args, says):
    result = run(producer.main, "producer.py", write_config(GOOD), *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.endswith(f"Error: {says}\n") and "hunter2" not in result.stderr
    assert result.stderr.count("\n") <= 4  # click's usage lines at most, then the one error line


@pytest.mark.parametrize("monkey_topic", ["t\udcff", "bad topic"])
def test_producer_checks_the_topic_from_the_environment_too(write_config, monkeypatch, monkey_topic):
    monkeypatch.setenv("KAFKA_TOPIC", monkey_topic)
    result = run(producer.main, "producer.py", write_config(GOOD))
    assert result.exit_code == 2 and "Invalid value for '-t' / '--topic': the topic name" in result.stderr


# -- options reach the run as values, and say what they apply to ----------------------------------------------
@pytest.mark.parametrize("args, flags", [
    (["--value-format", "avro"], "--value-format"), (["--key-format", "string", "-K", "|"], "--key-format, -K"),
    (["-o", "-5", "-e", "-F", "%s"], "-e, -o, -F"), (["--null-marker", "N", "--until", "5"], "--null-marker, --until"),
])
@pytest.mark.parametrize("view", ["-L", "--lag"])
def test_a_view_refuses_every_option_declared_for_messages(write_config, args, flags, view):
    result = CliRunner().invoke(consumer.main, [write_config(GOOD), view, *args], input="")
    assert result.exit_code == 2
    assert result.stderr.endswith(f"Error: {flags}: not with {view}\n")


def test_every_option_is_declared_for_messages_or_for_both():
    from kafka_cli.core.option_kinds import MessageOption

    message_only = sorted(p.name for p in consumer.main.params if isinstance(p, MessageOption))
    assert message_only == ["count", "exit_at_end", "format_string_text", "from_beginning", "key_format",
                            "key_separator", "max_messages", "null_marker", "partitions", "query", "start", "until",
                            "value_format"]


def test_the_schema_options_reach_the_command_as_one_value(write_config, monkeypatch):
    from kafka_cli.cli import producer as command
    from kafka_cli.schema.hooks import WriteChoices

    seen = []
    monkeypatch.setattr(command, "settle_schemas", lambda records, config, where, stop: seen.append(where) or records)
    monkeypatch.setattr(command, "run", lambda *args: 0)
    result = CliRunner().invoke(command.main, [write_config(GOOD), "-t", "orders", "--value-format", "avro",
                                               "--value-schema-id", "7", "--subject-name-strategy", "record"], input="")
    assert result.exit_code == 0, result.output
    assert seen == [("orders", WriteChoices(subject_name_strategy="record", value_format="avro", value_schema_id=7))]


# -- --help for people: the basics first, the rest under headings, and examples that parse as shown ------------
@pytest.mark.parametrize("command, first, headings", [
    (consumer.main, ["-t, --topic", "-g, --group", "-o, --offset", "-e, --exit-at-end", "-n, --max-messages",
                     "-f, --format"],
     ["Options:", "Output:", "Partitions and positions:", "Schema Registry (Avro, JSON Schema, Protobuf):",
      "Cluster views, instead of messages:", "Config and status:"]),
    (producer.main, ["-t, --topic", "-K, --key-separator", "--no-key", "-f, --format"],
     ["Options:", "Message contents:", "Schema Registry (Avro, JSON Schema, Protobuf):", "Config and status:"]),
])
def test_help_shows_the_basics_first_and_the_rest_under_headings(command, first, headings):
    text = CliRunner().invoke(command, ["--help"], terminal_width=200).output
    found = [line for line in text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert found == headings
    options = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    names = [line.strip().split("  ")[0] for line in options.splitlines() if line.startswith("  -")]
    # each name without its metavar (NAME, [text|json|verbose])
    assert [name.rsplit(" ", 1)[0] if name.rsplit(" ", 1)[-1].isupper() or name.endswith("]") else name
            for name in names][:len(first)] == first
    assert "Other options" not in text  # every option has its place


@pytest.mark.parametrize("command", [consumer.main, producer.main])
def test_the_helps_examples_parse_as_shown(command, tmp_path, monkeypatch):
    import shlex

    monkeypatch.chdir(tmp_path)
    for name in ("config.ini", "a.ini", "b.ini"):
        (tmp_path / name).write_text(GOOD)
    text = CliRunner().invoke(command, ["--help"], terminal_width=200).output
    examples = [line.split("#")[0].strip() for line in text.split("Examples:", 1)[1].splitlines()
                if line.strip().startswith(("./consumer.py", "./producer.py", "printf"))]
    assert len(examples) >= 5
    for example in examples:
        # a quoted '|' is an argument (-K '|'), not a pipe: kept apart from the shell's punctuation
        lexer = shlex.shlex(example.replace("'|'", "QUOTED-BAR"), posix=True, punctuation_chars="|<>")
        lexer.whitespace_split = True
        words, parts = list(lexer), [[]]
        for at, word in enumerate(words):
            if word == "|":
                parts.append([])
            elif word not in ("<", ">") and (at == 0 or words[at - 1] not in ("<", ">")):
                parts[-1].append(word.replace("QUOTED-BAR", "|"))
        for words in parts:
            if words[0] not in ("./consumer.py", "./producer.py"):
                continue
            target = consumer.main if words[0] == "./consumer.py" else producer.main
            target.make_context(words[0][2:], words[1:])  # click's parsing and every option's checks


def test_a_misspelled_property_gets_the_closest_one_librdkafka_knows(write_config):
    result = run(consumer.main, "consumer.py", write_config(GOOD + "sasl.pasword=x\n"))
    assert result.exit_code == 2
    assert result.stderr.endswith("sasl.pasword is not a Kafka client property (librdkafka does not know it); did "
                                  "you mean sasl.password?\n"), result.stderr
