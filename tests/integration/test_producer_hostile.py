"""What issue-sized trouble looked like before the boundary checks, as a user meets it: a good run of lines,
then one line or argument that used to reach confluent-kafka's C code unchecked (a segfault lost every line
queued before it, an OverflowError traceback too). Now the bad line is a bad line: named with its number, the
500 lines before it delivered and stored, exit 1; a bad argument is exit 2 before anything is read."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .test_producer_json import messages_of

ROOT = Path(__file__).resolve().parents[2]
GOOD = b"".join(json.dumps({"key": f"k{i}", "value": f"v{i}"}).encode() + b"\n" for i in range(500))


@pytest.mark.parametrize("line, says", [
    (br'{"headers":[["\ud800","v"]],"value":"x"}', "header name '\\ud800' holds a lone surrogate"),
    (br'{"headers":[["a\u0000b","v"]],"value":"x"}', "header name 'a\\x00b' holds a NUL character"),
    (br'{"partition":2147483648}', "partition: 2147483648 is out of range"),
    (br'{"timestamp":9223372036854775808}', "timestamp: 9223372036854775808 is out of range"),
])
def test_a_hostile_json_line_after_500_good_ones(kafka, make_topic, line, says):
    topic = make_topic(1)
    result = subprocess.run([sys.executable, str(ROOT / "producer.py"), str(kafka.plaintext_config), "-t", topic,
                             "-f", "json"], input=GOOD + line + b"\n", capture_output=True, timeout=120)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert f"line 501: {says}" in err and "Traceback" not in err
    assert "500 delivered to" in err and "stopped reading at line 501 (not a JSON record)" in err
    stored = messages_of(kafka, topic)[0]
    assert [(k, v) for k, v, _, _ in stored] == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(500)]


@pytest.mark.parametrize("args, says", [
    ([b"-H", b"\xff=v"], b"-H \\udcff=...: the header name is not valid UTF-8 (byte \\xff at position 0)"),
    ([b"-X", b"a\xff=1"], b"-X a\\udcff: the property name is not valid UTF-8 (byte \\xff at position 1)"),
    ([b"-t", b"t\xff"], b"the topic name is not valid UTF-8 (byte \\xff at position 1)"),
    ([b"-X", b"sasl.password:hunter2"], b"-X 'sasl.password ...': expected KEY=VALUE"),
    ([b"-K", b"\\x"], b"\\x at position 0 must be followed by two hex digits"),
])
def test_a_hostile_argument_is_exit_2_before_anything_is_read(kafka, args, says):
    result = subprocess.run([sys.executable, str(ROOT / "producer.py"), str(kafka.plaintext_config), *args],
                            input=b"k:v\n", capture_output=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and b"Traceback" not in result.stderr and b"hunter2" not in result.stderr
    assert result.stdout == b""
