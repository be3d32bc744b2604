"""A broker configured like Apache Kafka's defaults (auto.create.topics.enable=true), unlike ours: the
tutorial's two terminals on a topic that does not exist yet, consumer first, producer second, many times.

The first metadata answer for a new name often says "unknown topic" while the broker is creating it;
neither script may then say "does not exist".
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from .faults_report import record
from .scripts import produce, start_consumer

ROUND_TRIPS = 20


def test_tutorial_round_trip_on_topics_that_do_not_exist_yet(kafka_autocreate):
    config = kafka_autocreate.plaintext_config

    def round_trip(n):
        """(seconds, failure or None, producer's stderr)"""
        topic = f"fresh-{n}-{uuid.uuid4().hex[:8]}"
        lines = [f"{i}:message {i} of {topic}" for i in range(1, 9)]
        began = time.monotonic()
        reader = start_consumer(config, topic, "-g", f"g-{topic}", "-n", str(len(lines)), "--timeout", "60")
        try:
            writer = produce(config, topic, lines, "--timeout", "60")
            out, err = reader.communicate(timeout=120)
        finally:
            reader.kill()
        took = time.monotonic() - began
        printed = out.decode().splitlines()
        stderr = err.decode() + writer.stderr.decode()
        failure = None
        if writer.returncode != 0 or reader.returncode != 0 or sorted(printed) != sorted(lines):
            failure = (topic, writer.returncode, reader.returncode, len(printed), stderr[-500:])
        return took, failure, writer.stderr.decode()

    # independent round trips, four at a time (each pair mostly waits for its topic to be created)
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(round_trip, range(ROUND_TRIPS)))
    seconds = [took for took, _, _ in done]
    failures = [failure for _, failure, _ in done if failure]
    for _, _, writer_err in done:
        assert "does not exist" not in writer_err
    record("auto-created topics: consumer first, producer second, on fresh topic names",
           injected=f"{ROUND_TRIPS} round trips of 8 lines each on a broker with auto.create.topics.enable=true",
           lines_in=ROUND_TRIPS * 8, lines_out=ROUND_TRIPS * 8 - sum(8 - f[3] for f in failures),
           duplicates=0, exit_code="0" if not failures else "see failures",
           recovery_s=round(max(seconds), 1), outcome=f"{ROUND_TRIPS - len(failures)}/{ROUND_TRIPS} round trips whole, "
                                                   "never 'does not exist'")
    assert failures == []
