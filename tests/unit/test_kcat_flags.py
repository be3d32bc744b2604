"""kcat's letters and the mistakes met halfway, without a broker: -b in place of CONFIG_FILE (and no secret with
it), -X list and the "did you mean" of a property, the consumer's -J, -c and -Q, the producer's -k, -p and -D (the
delimiter split held to bytes.split whatever the blocks), a topic given where -t was meant, a config file's
close name, --timeout's one rule in both scripts, and "1 line skipped"."""

import ctypes
import ctypes.util
import glob
import logging
import os
import re

import pytest
from click.testing import CliRunner
from confluent_kafka import KafkaException, Producer
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from kafka_cli.cli import consumer
from kafka_cli.cli import producer
from kafka_cli.consume import query as query_module
from kafka_cli.cli.options import close_file_name
from kafka_cli.config import librdkafka_properties as props
from kafka_cli.config.ini import Bootstrap, load_config
from kafka_cli.core.errors import ConfigError
from kafka_cli.core.secrets import SECRET_PROPERTIES, Redactor
from kafka_cli.produce.delivery import Reading, report
from kafka_cli.produce.lines import BOM, InputLines, LineParser, TooLong, split_chunk
from tests.unit.test_producer_lines import FakeProducer, cut, run_loop

GOOD = "[default]\nbootstrap.servers=127.0.0.1:1\n"
SCRIPTS = [pytest.param(producer.main, "producer.py", id="producer"),
           pytest.param(consumer.main, "consumer.py", id="consumer")]


def invoke(command, *args, input=""):
    result = CliRunner().invoke(command, list(args), prog_name="x.py", input=input)
    # a traceback would show up here rather than on stderr
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    return result


def error_of(result):
    """The one 'Error: ...' line a refusal ends with."""
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("Error: "), result.output
    return lines[-1][len("Error: "):]


# -- -b HOST:PORT in place of CONFIG_FILE --------------------------------------------------------------------
def test_a_bootstrap_config_is_the_address_and_the_properties_alone():
    config = load_config(Bootstrap("h1:9092,h2:9092"), "consumer", ["acks=1", "client.id=me"])
    assert config.as_dict() == {"bootstrap.servers": "h1:9092,h2:9092", "acks": "1", "client.id": "me"}
    assert (config.origin("bootstrap.servers"), config.origin("acks"), str(config.path)) == ("-b", "-X acks", "-b")
    assert config.registry is None and not config.secret_in_file


SECRET_NAMES = sorted(SECRET_PROPERTIES) + ["schema.registry.basic.auth.user.info", "my.plugin.token",
                                            "ssl.truststore.password", " sasl.password "]


@given(name=st.sampled_from(SECRET_NAMES), value=st.text(min_size=3).filter(lambda v: "\0" not in v))
@example(name="sasl.password", value="hunter2")
def test_no_secret_is_taken_with_b_and_the_refusal_names_the_config_file_way(name, value):
    redactor = Redactor()
    with pytest.raises(ConfigError) as refused:
        load_config(Bootstrap("h:1"), "producer", ["client.id=x", f"{name}={value}"], redactor)
    message = refused.value.message
    assert message.startswith(f"-X {name.strip()}: no secret is taken on the command line")
    assert "config file" in message and "in place of -b" in message
    # The value's text is not in the sentence, unless the sentence itself holds that text (a value such as
    # 'val' or 'the' is part of its words): the message with the value is the message with any other value
    assert message == refusal_with(name, "x" * 9)


def refusal_with(name, value):
    with pytest.raises(ConfigError) as refused:
        load_config(Bootstrap("h:1"), "producer", ["client.id=x", f"{name}={value}"], Redactor())
    return refused.value.message


@pytest.mark.parametrize("command, prog", SCRIPTS)
def test_b_stands_in_for_config_file(command, prog, monkeypatch):
    seen = []

    def from_command_line(bootstrap, properties, redactor):
        seen.append((bootstrap.servers, properties))
        raise ConfigError("stop here")

    monkeypatch.setattr("kafka_cli.config.ini.from_command_line", from_command_line)
    result = invoke(command, "-b", "localhost:9092", "-X", "acks=1")
    assert (result.exit_code, seen) == (2, [("localhost:9092", ("acks=1",))]), result.output


@pytest.mark.parametrize("command, prog", SCRIPTS)
def test_config_file_and_b_exactly_one(command, prog, write_config):
    both = invoke(command, write_config(GOOD), "-b", "h:1")
    assert both.exit_code == 2
    assert error_of(both).endswith("and -b both name the cluster: give one of them (-b for a quick look at a "
                                   "plaintext cluster, the file for anything else)")
    neither = invoke(command)
    assert (neither.exit_code, error_of(neither)) == (2, "Missing argument 'CONFIG_FILE'.")
    topic_like = invoke(command, "orderz", "-b", "h:1")
    verb = "read" if command is consumer.main else "write to"
    assert error_of(topic_like).endswith(f"; to {verb} a topic, use -t orderz")


@given(servers=st.text(max_size=30))
@example(servers="")
@example(servers="h\udcff:1")
@example(servers="h\0:1")
@settings(max_examples=60, deadline=None)
def test_any_b_value_is_taken_or_one_usage_error(servers):
    result = invoke(consumer.main, "-b", servers, "-X", "nope=1", "-g", "g")
    assert result.exit_code == 2, result.output
    if not servers.strip() or "\0" in servers or re.search("[\ud800-\udfff]", servers):
        assert error_of(result).startswith("Invalid value for '-b' / '--bootstrap-server': ")
    else:  # taken: librdkafka is the next to speak (about nope)
        assert "nope" in error_of(result)


# -- -X list and "did you mean" ------------------------------------------------------------------------------
@pytest.mark.parametrize("command, prog", SCRIPTS)
def test_x_list_prints_the_table_and_exits_0_without_a_config_file(command, prog):
    result = invoke(command, "-X", "list")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == props.property_table()
    lines = result.stdout.splitlines()
    assert lines[:3] == ["## Global configuration properties", "",
                         "Property                                 | C/P |       Default | Description"]
    assert f"{'sasl.password':<40} |  *  |               | SASL password for use with the PLAIN and " \
           "SASL-SCRAM-.. mechanism" in lines
    assert lines[-1] == "### C/P legend: C = Consumer, P = Producer, * = both"
    assert len([line for line in lines if " | " in line and not line.startswith("Property")]) == \
        len(props.GLOBAL) + len(props.TOPIC)


def known_to_librdkafka(name):
    """Whether the installed librdkafka knows `name`: an unknown one is refused by name, whatever the value."""
    try:
        Producer({name: "\x01not a value"})  # (if taken as it is, the producer is made and dropped at once)
    except KafkaException as e:
        return "No such configuration property" not in e.args[0].str()
    except (TypeError, ValueError) as e:
        return "No such configuration property" not in str(e)
    return True


def test_every_listed_property_is_known_to_the_installed_librdkafka():
    unknown = [name for name in props.property_names() if not known_to_librdkafka(name)]
    assert unknown == []
    assert not known_to_librdkafka("sasl.pasword")  # the probe can say no


def installed_librdkafka_table():
    """rd_kafka_conf_properties_show() of the librdkafka confluent-kafka loads (its wheel's copy), or None."""
    import confluent_kafka

    here = os.path.dirname(os.path.dirname(confluent_kafka.__file__))
    found = glob.glob(os.path.join(here, "confluent_kafka.libs", "librdkafka*.so*"))
    libc = ctypes.util.find_library("c")
    if len(found) != 1 or libc is None:
        return None
    library, c = ctypes.CDLL(found[0]), ctypes.CDLL(libc)
    c.fopen.restype, c.fopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
    c.fclose.argtypes = [ctypes.c_void_p]
    library.rd_kafka_version_str.restype = ctypes.c_char_p
    return library, c


def test_the_list_is_the_installed_librdkafkas_own(tmp_path):
    """Names, C/P and defaults, in order, as the installed librdkafka's table has them (where the wheel's library
    can be found: Linux wheels)."""
    loaded = installed_librdkafka_table()
    # the project runs on Linux with confluent-kafka's wheel, whose librdkafka lies beside it: not finding it is a
    # failure to look into (a source build of confluent-kafka), never a reason to check nothing
    assert loaded is not None, ("confluent-kafka's own librdkafka was not found beside it: install the wheel "
                                "(pip install -r requirements.txt)")
    library, c = loaded
    out = tmp_path / "table.md"
    stream = c.fopen(str(out).encode(), b"w")
    library.rd_kafka_conf_properties_show(ctypes.c_void_p(stream))
    c.fclose(stream)
    assert library.rd_kafka_version_str().decode() == props.LIBRDKAFKA_VERSION
    tables = out.read_text().split("## Topic configuration properties")
    for rows, table in zip((props.GLOBAL, props.TOPIC), tables):
        theirs = [[cell.strip() for cell in line.split(" | ", 5)] for line in table.splitlines()
                  if " | " in line and not line.startswith("Property")]
        assert [(name, cp, default) for name, cp, _, default, _, _ in theirs] == \
            [(name, cp, default) for name, cp, default, _ in rows]


@pytest.mark.parametrize("typed, meant", [
    ("sasl.pasword", "sasl.password"), ("linger.m", "linger.ms"), ("Bootstrap.Servers", "bootstrap.servers"),
    ("auto.offset.rest", "auto.offset.reset"), ("group_id", "group.id"), ("security.protocols", "security.protocol"),
    ("ssl.truststore.location", "ssl.ca.location"),  # the Java client's name: not ssl.keystore.location
])
def test_did_you_mean_names_the_property_meant(typed, meant):
    assert props.did_you_mean(typed) == f"; did you mean {meant}?"


@given(name=st.sampled_from(props.property_names()) | st.text(max_size=40))
@example(name="key.serializer")
@example(name="schema.registry.url")
def test_did_you_mean_offers_only_a_listed_other_name(name):
    said = props.did_you_mean(name)
    if said:
        offered = re.fullmatch(r"; did you mean (\S+)\?", said).group(1)
        assert offered in props.property_names() and offered != name
    if name in props.property_names():
        assert said == ""


# -- consumer: -J, -c, -Q ------------------------------------------------------------------------------------
@pytest.fixture
def captured(monkeypatch, write_config):
    """Runs consumer.main up to the loop, which is replaced: (result, ConsumerOptions or None)."""
    def run_consumer(*args):
        seen = []
        monkeypatch.setattr(consumer, "run", lambda config, options, log, client_log: seen.append(options))
        result = invoke(consumer.main, write_config(GOOD), "-g", "g", *args)
        return result, (seen[0] if seen else None)
    return run_consumer


def test_j_is_f_json_and_c_is_n(captured):
    _, plain = captured("-f", "json", "-n", "3")
    result, options = captured("-J", "-c", "3")
    assert result.exit_code == 0, result.output
    assert options.max_messages == 3 == plain.max_messages
    assert options.render_batch.__qualname__ == plain.render_batch.__qualname__  # the json renderer
    assert captured("-J", "-f", "json", "-c", "3", "-n", "3")[1].max_messages == 3  # saying it twice is fine


@pytest.mark.parametrize("args, says", [
    (["-J", "-f", "verbose"], "-J is -f json: not with -f verbose"),
    (["-c", "2", "-n", "3"], "-c and -n both say how many messages to print: give one of them"),
    (["-c", "0"], "Invalid value for '-c': 0 is not in the range x>=1."),
    (["-L", "-c", "2"], "-c, -g: not with -L"), (["--lag", "-Q"], "-Q: not with --lag"),
])
def test_j_and_c_refusals(captured, args, says):
    result, options = captured(*args)
    assert (result.exit_code, options) == (2, None)
    assert error_of(result) == says


@pytest.fixture
def query(monkeypatch, write_config):
    """consumer.main with -Q, its broker replaced: (result, what offsets_for_time was asked)."""
    def run_query(*args, found=None):
        asked = []

        def offsets_for_time(config, wanted, timeout, log, client_log):
            asked.append((wanted, timeout))
            return found if found is not None else [((topic, 0), 5) for topic in wanted[0]]

        monkeypatch.setattr(query_module, "offsets_for_time", offsets_for_time)
        return invoke(consumer.main, write_config(GOOD), "-Q", *args), asked
    return run_query


def test_q_prints_kcats_lines(query):
    found = [(("orders", 0), 1200), (("orders", 1), None), (("orders", 10), 0)]
    result, asked = query("-t", "orders", "-o", "@1700000000000", "-p", "1", "-p", "0", "-p", "1", "--timeout", "5",
                          found=found)
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert result.stdout == "orders [0] offset 1200\norders [1] offset -1\norders [10] offset 0\n"
    assert asked == [((("orders",), (0, 1), 1700000000000), 5.0)]


@given(position=st.sampled_from(["beginning", "end", "stored", "5", "-5", "@0", "@1700000000000", "15m", "2h",
                                 "2026-11-24T14:00:00Z", "2026-11-24", "soon", "@-1"]))
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # (the fixture holds nothing)
def test_q_takes_an_o_time_only(query, position):
    result, asked = query("-t", "t", "-o", position)
    is_time = position.startswith("@") and position != "@-1" or position[-1] in "mh" or position.startswith("2026")
    if is_time:
        assert (result.exit_code, result.stdout) == (0, "t [0] offset 5\n"), result.output
    else:
        assert (result.exit_code, asked) == (2, [])
        assert error_of(result).startswith("-Q -o ") or error_of(result).startswith("-o ")


@pytest.mark.parametrize("args, says", [
    ([], "-Q needs an -o time: @EPOCH_MS, ISO 8601"),
    (["-o", "1h", "-e", "-n", "3", "-g", "g", "-J"], "-g, -n, -e, -J: not with -Q, which prints offsets only"),
    (["-o", "1h", "-f", "json"], "-f: not with -Q"), (["-o", "1h", "-F", "%s"], "-F: not with -Q"),
    (["-o", "1h", "-t", "^a.*"], "-Q needs topic names, not a ^pattern"),
])
def test_q_refuses_what_does_not_go_with_it(monkeypatch, write_config, args, says):
    monkeypatch.setattr(query_module, "offsets_for_time", lambda *a: pytest.fail("asked the broker"))
    result = invoke(consumer.main, write_config(GOOD), "-Q", *args)
    assert result.exit_code == 2
    assert error_of(result).startswith(says), result.output


# -- producer: -k, -p, -D ------------------------------------------------------------------------------------
class PartitionedProducer(FakeProducer):
    """confluent-kafka's produce() order (topic, value, key, partition, ...): what each message was sent with."""

    def produce(self, topic, value=None, key=None, partition=-1, on_delivery=None, timestamp=0, headers=None):
        if self.full:
            self.full -= 1
            raise BufferError("queue full")
        self.sent.append((key, value, partition))


def produced(blocks, parser):
    (sent, bad), fake, skipped, delivery = run_loop(blocks, parser, fake=PartitionedProducer())
    return fake.sent, (sent, bad, skipped, delivery.failed)


def messages_of(data, delimiter):
    """The messages of a whole stream, written independently of InputLines: bytes.split at the delimiter (a \\r
    before a newline goes with it), a BOM at the start no data."""
    data = data[len(BOM):] if data.startswith(BOM) else data
    pieces = data.split(delimiter)
    if pieces[-1] == b"":
        pieces.pop()
    return [p[:-1] if delimiter == b"\n" and p.endswith(b"\r") else p for p in pieces]


delimiters = st.sampled_from([b"\n", b";", b"\0", b"--", b";;", b"\r\n", b"aba", b"\n--\n", b"xyz"])
streams = st.lists(st.sampled_from([b"\n", b"\r", b";", b"-", b"a", b"b", b"x", b"y", b"z", b":", b"k", b"\0",
                                    b"long value " * 3, BOM]), max_size=60).map(b"".join)


@given(data=streams, delimiter=delimiters, points=st.lists(st.integers(min_value=0), max_size=20),
       no_key=st.booleans())
@example(data=b"x---y--z-", delimiter=b"--", points=[], no_key=True)  # kcat: x, -y, z-
@example(data=b"x---y--z-", delimiter=b"--", points=[3, 8], no_key=True)
@example(data=b"a\r\nb\r\n\r\n", delimiter=b"\r\n", points=[2, 5], no_key=True)
@example(data=b"k:1;k:2;", delimiter=b";", points=[], no_key=False)  # the fast path with a one-byte delimiter
def test_d_splits_as_bytes_split_whatever_the_blocks(data, delimiter, points, no_key):
    parser = LineParser(b":", no_key).framed(delimiter=delimiter)
    wanted = []
    for message in messages_of(data, delimiter):
        if message and (no_key or b":" in message):
            key, _, value = message.partition(b":")
            wanted.append((None, message, -1) if no_key else (key or None, value, -1))
        elif message:
            break  # a message without the separator stops the run (no --skip-bad-lines)
    sent, _ = produced(cut(data, points), parser)
    assert sent == wanted


@given(data=streams, delimiter=delimiters, points=st.lists(st.integers(min_value=0), max_size=20),
       limit=st.integers(1, 40))
@example(data=b"aaaaaaaa--b", delimiter=b"--", points=[9], limit=3)  # the delimiter straddles two blocks
@example(data=b"aaaa-", delimiter=b"--", points=[], limit=4)  # a message that only ends like the delimiter
@example(data=b"k:aaaaaa\r\n", delimiter=b"\n", points=[3], limit=3)
def test_d_bounds_memory_and_sizes_a_message_too_long_exactly(data, delimiter, points, limit):
    """Every message once, in order: itself, or (when it arrived in pieces and its key and value alone exceed the
    limit) its TooLong, whose sizes are the message's own, the delimiter's bytes not counted."""
    reader, out = InputLines(limit, b":", delimiter), []
    for block in cut(data, points) + [b""]:
        chunk, too_long = reader.feed_chunk(block) if block else reader.end_chunk()
        assert len(reader.rest) <= reader.cap  # memory: never more than one sendable message is kept
        out += ([("too long", too_long.line_size, too_long.value_size)] if too_long else []) + reader.lines(chunk)
    messages = messages_of(data, delimiter)
    assert len(out) == len(messages)
    for item, message in zip(out, messages):
        if item != message:
            key, found, value = message.partition(b":")
            assert item == ("too long", len(message), len(value) if found else len(message))
            assert len(message) - len(found) > limit  # it could never have been sent


@given(chunk=streams.map(lambda data: data[:data.rfind(b";") + 1]), no_key=st.booleans(),
       nulls=st.sampled_from([frozenset(), frozenset([b"a"])]))
def test_the_fast_path_with_d_agrees_with_the_line_path_or_declines(chunk, no_key, nulls):
    parser = LineParser(b":", no_key, nulls).framed(delimiter=b";")
    plain = split_chunk(chunk, b":", no_key, nulls, b";")
    if plain is None:
        return
    keys, values = plain
    lines = InputLines(10**6, b":", b";").lines(chunk)
    assert all(lines) and not any(b"\r" in line for line in []) and len(values) == len(lines)
    assert [parser.parse(line)[:2] for line in lines] == list(zip(keys or [None] * len(values), values))


@pytest.mark.parametrize("block", [b"a:1\nb\n", b"a:1\r\nb\r\n", b"a:1\n\nb\n"])  # fast path, and line by line
@pytest.mark.parametrize("partition", [-1, 0, 7])
def test_k_and_p_go_with_every_line(block, partition):
    parser = LineParser(b":", False).framed(key=b"K\xff", partition=partition)
    assert produced([block], parser)[0] == [(b"K\xff", b"a:1", partition), (b"K\xff", b"b", partition)]
    assert produced([block], LineParser(b":", False).framed(partition=partition))[0][0] == (b"a", b"1", partition)


def test_p_with_a_full_queue_keeps_its_partition():
    fake = PartitionedProducer(full_first=2)
    run_loop([b"a:1\nb:2\n"], LineParser(b":", False).framed(partition=3), fake=fake)
    assert fake.sent == [(b"a", b"1", 3), (b"b", b"2", 3)]


def test_too_long_with_d_keeps_a_carriage_return_as_data():
    assert TooLong(b":", newline=False).add(b"k:vv\r").line_size == 5
    assert TooLong(b":").add(b"k:vv\r").line_size == 4


@pytest.fixture
def producer_options(monkeypatch, write_config):
    """producer.main up to the broker, which is never reached: (result, its ProducerOptions or None)."""
    def run_producer(*args):
        seen = []
        monkeypatch.setattr(producer, "run", lambda config, options, *rest: seen.append(options) or 0)
        result = invoke(producer.main, write_config(GOOD), *args)
        return result, (seen[0] if seen else None)
    return run_producer


def test_k_p_and_d_reach_the_reader(producer_options):
    result, options = producer_options("-k", "key", "-p", "2", "-D", "\\n--\\n")
    assert result.exit_code == 0, result.output
    records = options.records
    assert (records.key, records.partition, records.delimiter, options.partition) == (b"key", 2, b"\n--\n", 2)
    _, plain = producer_options()
    assert (plain.records.key, plain.records.partition, plain.records.delimiter, plain.partition) == \
        (None, -1, b"\n", None)


@pytest.mark.parametrize("args, says", [
    (["-k", "K", "--no-key"], "-k and --no-key: give one of them (-k KEY: every line with that key)"),
    (["-k", "K", "-K", "|"], "-k and -K: with -k each whole line is the value, so no line is split"),
    (["-k", ""], "Invalid value for '-k' / '--key': must not be empty (--no-key sends lines without a key)"),
    (["-D", ""], "Invalid value for '-D' / '--delimiter': must not be empty"),
    (["-D", ":"], "-D and -K are the same: no message would hold a key separator"),
    (["-D", "\\xZZ"], "Invalid value for '-D' / '--delimiter': \\x at position 0 must be followed by two hex "
                      "digits (\\xHH), or write \\\\x"),
    (["-p", "-1"], "Invalid value for '-p' / '--partition': -1 is not in the range 0<=x<=2147483647."),
    (["-f", "json", "-p", "1", "-k", "k"], "-k, -p: only with -f text (a JSON record says its key and "
                                           "partition, and null is null)"),
])
def test_k_p_d_refusals(producer_options, args, says):
    result, options = producer_options(*args)
    assert (result.exit_code, options) == (2, None)
    assert error_of(result) == says


class Topic:
    def __init__(self, partitions):
        self.partitions = dict.fromkeys(partitions)


@given(partition=st.integers(0, 20), partitions=st.integers(1, 12))
def test_p_is_checked_against_the_topic_before_the_first_line(partition, partitions):
    from kafka_cli.core.errors import CliError
    from kafka_cli.produce.topic_ready import check_partition

    topic = Topic(range(partitions))
    check_partition(topic, "t", None)
    if partition < partitions:
        check_partition(topic, "t", partition)
        return
    with pytest.raises(CliError) as refused:
        check_partition(topic, "t", partition)
    has = "partition 0 only" if partitions == 1 else f"partitions 0 to {partitions - 1}"
    assert refused.value.message == f"topic 't' has no partition {partition} (it has {has}); nothing was read or sent"


# -- a topic where -t was meant, a config file of a close name -----------------------------------------------
@pytest.mark.parametrize("command, prog", SCRIPTS)
def test_a_topic_given_as_an_argument_is_pointed_to_t(command, prog, write_config):
    verb = "read" if command is consumer.main else "write to"
    result = invoke(command, write_config(GOOD), "orderz")
    assert (result.exit_code, error_of(result)) == (2, f"Got unexpected extra argument (orderz); to {verb} a "
                                                       "topic, use -t orderz")
    for extra, said in ((["a", "b"], "Got unexpected extra arguments (a b)"),
                        (["a b"], "Got unexpected extra argument (a b)")):  # no topic names: click's words only
        assert error_of(invoke(command, write_config(GOOD), *extra)) == said


@pytest.mark.parametrize("command, prog", SCRIPTS)
def test_a_missing_config_file_with_a_close_name_beside_it(command, prog, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.ini").write_text(GOOD)
    result = invoke(command, "confg.ini")
    assert (result.exit_code, error_of(result)) == \
        (2, "Invalid value for 'CONFIG_FILE': File 'confg.ini' does not exist. Did you mean config.ini?")
    elsewhere = invoke(command, str(tmp_path / "config.in"))
    assert error_of(elsewhere).endswith(f"Did you mean {tmp_path / 'config.ini'}?")


@given(names=st.lists(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"),
                              min_size=1, max_size=12), max_size=6, unique=True),
       missing=st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"), min_size=1,
                       max_size=12))
@settings(max_examples=50, deadline=None)
def test_a_close_name_offered_is_a_printable_file_beside_the_missing_one(tmp_path_factory, names, missing):
    assume(missing not in names)
    directory = tmp_path_factory.mktemp("close")
    for name in names:
        if name not in (".", ".."):
            (directory / name).write_text("")
    offered = close_file_name(str(directory / missing))
    if offered is not None:
        assert os.path.dirname(offered) == str(directory) and os.path.isfile(offered)
        assert os.path.basename(offered).isprintable() and os.path.basename(offered) != missing


# -- --timeout: one rule in both scripts ---------------------------------------------------------------------
@given(value=st.sampled_from(["0", "0.0", "-0", "-1", "nan", "inf", "0.001", "5", "abc"]) | st.floats().map(repr))
@settings(deadline=None)
def test_timeout_is_refused_alike_by_both_scripts(value):
    said = []
    for command in (producer.main, consumer.main):
        result = invoke(command, "--timeout", value, "-X", "nope=1")  # no file: refused before it is looked for
        said.append(error_of(result) if result.exit_code == 2 and "'--timeout'" in result.stderr else "taken")
    assert said[0] == said[1]
    number = float(value) if value != "abc" else None
    taken = number is not None and number == number and number > 0
    assert (said[0] == "taken") == taken
    if number == 0:
        assert said[0] == (f"Invalid value for '--timeout': {number!r} is not in the range x>0. A wait of 0 s ends at "
                           "once: give more than 0 seconds.")
    if value == "nan":
        assert said[0] == "Invalid value for '--timeout': must be a number of seconds, not nan"


# -- plurals -------------------------------------------------------------------------------------------------
class NoStop:
    signum = None


@pytest.mark.parametrize("skipped, says", [([3], "; 1 line skipped ("), ([3, 9], "; 2 lines skipped (")])
def test_one_line_skipped_is_singular(caplog, skipped, says):
    from types import SimpleNamespace

    delivery = SimpleNamespace(stopped_by=None, failed=0, not_confirmed=0, timed_out=0, timestamps=None,
                               stop=NoStop(), first_reason=None)
    with caplog.at_level(logging.WARNING, logger="test.plural"):
        report(logging.getLogger("test.plural"), "t", delivery, Reading(5, None, skipped, "no key separator"), 0.1)
    assert says in caplog.text and f"first: line {skipped[0]})" in caplog.text
