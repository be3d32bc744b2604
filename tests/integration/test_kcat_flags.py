"""kcat's letters held to kcat's own output on the session broker: consumer.py -Q beside kcat -Q (byte for byte),
-b with -c and -F beside kcat -C -b -c -f, -J beside kcat -J (field by field: the objects differ in shape), the
producer's -k, -p and -D beside kcat -P with the same letters (what lands in the topic), and -X list beside kcat
-X list (its layout, and every property kcat lists that the installed librdkafka still knows). Also what -b
refuses and what -p checks, as a user meets them."""

import json
import os
import subprocess
import sys
import time

import pytest
from confluent_kafka import KafkaException, Producer

from .scripts import ROOT, kcat_path, no_traceback
from .test_producer_json import messages_of

C_LOCALE = {**os.environ, "LC_ALL": "C"}


def ours(script, *args, input=b"", timeout=120):
    """producer.py or consumer.py with -b and no config file, as a user runs it."""
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], input=input, capture_output=True,
                          timeout=timeout, cwd=ROOT)


def kcat(*args, input=b""):
    result = subprocess.run([kcat_path(), *map(str, args)], input=input, capture_output=True, timeout=120, env=C_LOCALE)
    assert result.returncode == 0, result.stderr
    return result


def write(kafka, topic, messages):
    """(partition, key, value, timestamp ms or None: now) each, written with confluent-kafka directly."""
    writer = Producer(kafka.client_settings("plaintext"))
    for partition, key, value, timestamp in messages:
        writer.produce(topic, key=key, value=value, partition=partition, timestamp=timestamp or 0)
    assert writer.flush(30) == 0


# -- consumer.py -----------------------------------------------------------------------------------------
def test_q_prints_what_kcat_q_prints(kafka, make_topic):
    topic = make_topic(3)
    base = int(time.time() * 1000) - 600_000
    write(kafka, topic, [(0, b"a", b"1", base + 1000), (0, b"b", b"2", base + 2000), (0, b"c", b"3", base + 3000),
                         (1, b"d", b"4", base + 2500)])  # partition 2: nothing
    bootstrap = kafka.plaintext_bootstrap
    for ms in (base, base + 2000, base + 2001, base + 2600, base + 10_000):
        mine = ours("consumer.py", "-b", bootstrap, "-t", topic, "-Q", "-o", f"@{ms}")
        assert mine.returncode == 0 and mine.stderr == b"", mine.stderr
        theirs = kcat("-Q", "-b", bootstrap, *[arg for p in range(3) for arg in ("-t", f"{topic}:{p}:{ms}")])
        assert mine.stdout == theirs.stdout
    mine = ours("consumer.py", "-b", bootstrap, "-t", topic, "-p", "1", "-Q", "-o", f"@{base + 2000}")
    assert mine.stdout == kcat("-Q", "-b", bootstrap, "-t", f"{topic}:1:{base + 2000}").stdout
    assert mine.stdout == f"{topic} [1] offset 0\n".encode()  # worked out: 2500 is the first at or after 2000
    first = ours("consumer.py", "-b", bootstrap, "-t", topic, "-Q", "-o", f"@{base + 2001}")
    assert first.stdout == f"{topic} [0] offset 2\n{topic} [1] offset 0\n{topic} [2] offset -1\n".encode()


def test_q_names_a_partition_the_topic_lacks(kafka, make_topic):
    topic = make_topic(2)
    result = ours("consumer.py", "-b", kafka.plaintext_bootstrap, "-t", topic, "-p", "5", "-Q", "-o", "1h")
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == f"Error: topic '{topic}' has no partition 5 (it has partitions 0 to 1)\n"


def test_b_with_c_reads_what_kcat_reads(kafka, make_topic):
    topic = make_topic(1)
    write(kafka, topic, [(0, b"k%d" % i, b"value %d" % i, None) for i in range(6)])
    template = "%t %p %o %k=%s\\n"
    mine = ours("consumer.py", "-b", kafka.plaintext_bootstrap, "-t", topic, "-o", "beginning", "-c", "4",
                "-F", template)
    assert mine.returncode == 0, mine.stderr
    theirs = kcat("-C", "-b", kafka.plaintext_bootstrap, "-t", topic, "-o", "beginning", "-c", "4", "-q",
                  "-f", template.replace("\\n", "\n"))
    assert mine.stdout == theirs.stdout
    assert mine.stdout == b"".join(b"%s 0 %d k%d=value %d\n" % (topic.encode(), i, i, i) for i in range(4))


def test_j_agrees_with_kcat_j_field_by_field(kafka, make_topic):
    topic = make_topic(2)
    base = int(time.time() * 1000) - 60_000
    write(kafka, topic, [(0, b"k1", b"v1", base), (1, None, b"v2", base + 1), (1, b"k3", b"{\"a\": 1}", base + 2)])
    mine = ours("consumer.py", "-b", kafka.plaintext_bootstrap, "-t", topic, "-o", "beginning", "-e", "-J")
    assert mine.returncode == 0, mine.stderr
    theirs = kcat("-C", "-b", kafka.plaintext_bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-J")

    def fields(objects, value, timestamp):
        return sorted((o["topic"], o["partition"], o["offset"], o["key"], o[value], o[timestamp]) for o in objects)

    ours_json = [json.loads(line) for line in mine.stdout.splitlines()]
    kcats = [json.loads(line) for line in theirs.stdout.splitlines()]
    assert fields(ours_json, "value", "timestamp") == fields(kcats, "payload", "ts")
    assert len(ours_json) == 3 and {o["value"] for o in ours_json} == {"v1", "v2", "{\"a\": 1}"}


def test_x_list_is_laid_out_as_kcats_and_holds_every_property_kcat_lists(kafka):
    mine = ours("consumer.py", "-X", "list")
    assert mine.returncode == 0 and mine.stderr == b"", mine.stderr
    theirs = kcat("-X", "list")

    def layout(text):  # the headings, blank lines and legend: all but the rows and the two column lines
        return [line for line in text.splitlines() if not line[:1].islower() and not line.startswith(("Property",
                                                                                                      "----"))]

    def rows(text):
        sections = text.split("## Topic configuration properties")
        return [{line.split(" | ")[0].rstrip(): line for line in section.splitlines() if " | " in line
                 and line[:1].islower()} for section in sections]

    assert layout(mine.stdout.decode()) == layout(theirs.stdout.decode())
    assert mine.stdout.decode().splitlines()[2].startswith("Property                                 | C/P |")
    assert theirs.stdout.decode().splitlines()[2].startswith("Property                                 | C/P |")
    for mine_rows, their_rows in zip(rows(mine.stdout.decode()), rows(theirs.stdout.decode())):
        for name, line in their_rows.items():
            if name in mine_rows:
                assert mine_rows[name][:43] == line[:43]  # the name column, as wide
            else:  # only a property the installed librdkafka has dropped since kcat's
                with pytest.raises(KafkaException, match="No such configuration property"):
                    Producer({name: "x"})


# -- producer.py -----------------------------------------------------------------------------------------
def same_as_kcat(kafka, make_topic, data, mine_args, kcat_args, partitions=3):
    """`data` written by producer.py with `mine_args` and by kcat -P with `kcat_args`, each to a new topic:
    what each topic then holds, {partition: [(key, value)]}."""
    mine_topic, kcat_topic = make_topic(partitions), make_topic(partitions)
    mine = ours("producer.py", "-b", kafka.plaintext_bootstrap, "-t", mine_topic, *mine_args, input=data)
    assert mine.returncode == 0, mine.stderr
    kcat("-P", "-b", kafka.plaintext_bootstrap, "-t", kcat_topic, *kcat_args, input=data)
    held = [{p: [(key, value) for key, value, _, _ in found] for p, found in messages_of(kafka, topic).items()}
            for topic in (mine_topic, kcat_topic)]
    assert held[0] == held[1]
    return held[0]


def test_k_and_p_write_what_kcat_writes(kafka, make_topic):
    held = same_as_kcat(kafka, make_topic, b"first line\nk:v stays whole\n\nlast\n", ["-k", "sensor-7", "-p", "2"],
                        ["-k", "sensor-7", "-p", "2"])
    assert held == {0: [], 1: [], 2: [(b"sensor-7", b"first line"), (b"sensor-7", b"k:v stays whole"),
                                      (b"sensor-7", b"last")]}


@pytest.mark.parametrize("data, delimiter, split", [
    (b"x---y--z-", "--", []),  # from the left, and the last message without its delimiter
    (b"k1:v\n1;;k2:v2;;;;k3:;;", ";;", ["-K", ":"]),  # newlines inside values, an empty message, an empty value
    (b"a:1\x1eb:2\r\n\x1ec:3", "\\x1e", ["-K", ":"]),  # the -K escapes, as kcat's; \r\n is data
    (b"one\ttwo\nthree\tfour\n", "\\t", []),
])
def test_d_writes_what_kcat_writes(kafka, make_topic, data, delimiter, split):
    mine_args = ["-D", delimiter, "-p", "0"] + (split or ["--no-key"])
    held = same_as_kcat(kafka, make_topic, data, mine_args, ["-D", delimiter, "-p", "0"] + split, partitions=1)
    pieces = [piece for piece in data.split(delimiter.encode().decode("unicode_escape").encode("latin-1")) if piece]
    if split:
        pieces = [tuple(piece.split(b":", 1)) for piece in pieces]
    assert held == {0: [piece if split else (None, piece) for piece in pieces]}


def test_p_is_checked_before_the_first_line(kafka, make_topic):
    topic = make_topic(2)
    result = ours("producer.py", "-b", kafka.plaintext_bootstrap, "-t", topic, "-p", "2", input=b"k:v\n")
    assert (result.returncode, result.stdout) == (1, b"") and no_traceback(result)
    assert result.stderr.decode().splitlines()[-1] == (f"Error: topic '{topic}' has no partition 2 (it has partitions "
                                                       "0 to 1); nothing was read or sent")
    assert messages_of(kafka, topic) == {0: [], 1: []}


@pytest.mark.parametrize("script", ["producer.py", "consumer.py"])
def test_b_takes_no_secret(kafka, script):
    result = ours(script, "-b", kafka.plaintext_bootstrap, "-X", "sasl.username=alice", "-X",
                  "sasl.password=Hunter2-s3cret", input=b"k:v\n")
    assert (result.returncode, result.stdout) == (2, b"") and no_traceback(result)
    assert result.stderr == (b"Error: -X sasl.password: no secret is taken on the command line (any user of this "
                             b"machine can read it there): write it in a config file, in [default] as "
                             b"sasl.password=${ENV_VAR} or the value itself, and give that file in place of -b\n")
