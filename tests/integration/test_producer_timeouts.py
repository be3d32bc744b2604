"""A message that timed out after it was sent may be on the broker: producer.py counts it 'not confirmed', never
'failed', so a user who re-sends the failed lines never duplicates one the broker kept."""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_faults import read_topic

ROOT = Path(__file__).resolve().parents[2]
COUNTS = re.compile(r"([\d,]+) delivered to \S+, ([\d,]+) failed(?:, ([\d,]+) not confirmed)?")


@pytest.mark.local_broker_only
def test_lines_timed_out_in_flight_are_not_confirmed_and_none_failed_is_stored(kafka, make_topic):
    topic = make_topic(1)
    writer = subprocess.Popen([sys.executable, str(ROOT / "producer.py"), str(kafka.plaintext_config), "-t", topic,
                               "-X", "message.timeout.ms=3000", "--timeout", "30"],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    paused = False
    try:
        writer.stdin.write(b"warm:up\n")
        writer.stdin.flush()
        deadline = time.monotonic() + 60
        while len(read_topic(kafka.plaintext_bootstrap, topic)) < 1:
            assert time.monotonic() < deadline, "the first line was never stored"
            time.sleep(0.1)
        kafka.pause()
        paused = True
        writer.stdin.write(b"".join(b"k%d:line %d\n" % (i, i) for i in range(5)))
        writer.stdin.close()  # librdkafka sends the five, then times them out after 3 s without an answer
        writer.wait(timeout=60)
        err = writer.stderr.read()
    finally:
        if paused:
            kafka.resume()
        writer.kill()
    err = err.decode()
    stored = read_topic(kafka.plaintext_bootstrap, topic)
    delivered, failed, unconfirmed = (int(n.replace(",", "") or 0) for n in COUNTS.findall(err)[0])
    assert "Traceback" not in err
    assert writer.returncode == 1, err
    # none failed: the five timed out after they were sent, so each is not confirmed (the warm-up line was
    # stored before the pause; its acknowledgement may have been on its way when the broker froze)
    assert failed == 0, err
    assert delivered + unconfirmed == 6 and unconfirmed >= 5, err
    assert "the broker may have" in err, err
    # what is stored: the warm-up line, then only lines that were sent, each once (those the broker kept)
    sent = [(f"k{i}", f"line {i}") for i in range(5)]
    assert stored[0] == ("warm", "up") and stored[1:] == [line for line in sent if line in stored[1:]], stored
    assert len(set(stored)) == len(stored), stored
