"""producer.py against a broker that creates topics on first use (auto.create.topics.enable=true, Apache
Kafka's default): the first metadata answer for a new topic says 'unknown' while the broker creates it, and
the producer must wait for the topic rather than call it missing.

The broker is the session's `kafka_autocreate` (tests/conftest.py).
"""

import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from .faults_report import record
from .test_faults import command, read_topic


@pytest.mark.slow
@pytest.mark.local_broker_only
def test_fresh_topics_are_created_and_written_every_time(kafka_autocreate):
    runs = 25

    def one(i):
        topic = f"auto-{uuid.uuid4().hex[:10]}"
        began = time.monotonic()
        result = subprocess.run(command("producer.py", kafka_autocreate.plaintext_config, "-t", topic),
                                input=f"k{i}:first\nk{i}:second\n".encode(), capture_output=True, timeout=120)
        took = time.monotonic() - began
        err = result.stderr.decode(errors="replace")
        stored = read_topic(kafka_autocreate.plaintext_bootstrap, topic)
        return took, (result.returncode, "does not exist" in err, stored == [(f"k{i}", "first"), (f"k{i}", "second")],
                      err)

    # independent runs, four at a time (each mostly waits for the broker to create its topic)
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(one, range(runs)))
    seconds, outcomes = [took for took, _ in done], [outcome for _, outcome in done]
    refused = sum(1 for _, missing, _, _ in outcomes if missing)
    record(f"producer.py -t NEW on a broker that auto-creates topics, {runs} fresh topics",
           injected="auto.create.topics.enable=true; each run a topic that does not exist yet, 2 lines",
           lines_in=2 * runs, lines_out=sum(2 for _, _, ok, _ in outcomes if ok),
           exit_code=", ".join(sorted({str(code) for code, _, _, _ in outcomes})),
           recovery_s=round(max(seconds), 1),
           outcome=f"{refused} of {runs} called missing; every topic holds its 2 lines" if refused == 0 else
           f"{refused} of {runs} called missing")
    for code, missing, ok, err in outcomes:
        assert code == 0 and not missing and ok, err
