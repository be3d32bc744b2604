"""Long runs over OAuth: tokens live 60 s, librdkafka fetches the next at 80 % of that (48 s) and the broker ends a
session when its token expires (re-authentication), so a run of a few minutes logs in again and again.

- A producer fed for OAUTH_RUN_SECONDS (100 s here; `OAUTH_RUN_SECONDS=300` for the issue's five minutes) and a
  consumer reading meanwhile lose nothing and say nothing but their summaries; Keycloak's log counts the tokens it
  handed out (its CLIENT_LOGIN events), at least one refresh for each of the two clients.
- Meanwhile a second producer, whose way to Keycloak is cut 5 s in (a route of its own that stops taking
  connections, as a provider that is down): the failed refresh (at 48 s) is said once, as a warning, and the run
  goes on with its token; when the token expires (60 s) the broker ends the session and the producer ends, exit
  1, every count true (what it says it delivered is in the topic). In the same run, so CI pays for one minute of
  waiting, not two. (Keycloak itself stopped and started again: docs/oauth.md, run by hand.)"""

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from local_kafka import create_topic
from local_kafka.keycloak import CLIENT
from tests.conftest import ROOT
from tests.integration.oauth.conftest import oauth_config, remember

pytestmark = [pytest.mark.xdist_group("oauth"), pytest.mark.local_broker_only, pytest.mark.slow]

RUN_SECONDS = float(os.environ.get("OAUTH_RUN_SECONDS", "100"))
SUMMARY = re.compile(r"([\d,]+) delivered to \S+, ([\d,]+) failed")


class Script:
    """A script as a process whose stderr lines are kept with the second they came (from the start of the run)."""

    def __init__(self, args, began, stdin=None):
        self.began = began
        self.proc = subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT, stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err, self.out = [], []
        self.readers = [threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
                        threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True)]
        for reader in self.readers:
            reader.start()

    def _read(self, stream, into):
        for line in stream:
            into.append((time.monotonic() - self.began, line.decode(errors="replace").rstrip("\n")))

    def finish(self, timeout=120):
        self.proc.wait(timeout)
        for reader in self.readers:
            reader.join(10)
        remember([sys.executable, *self.proc.args[1:4]], "\n".join(l for _, l in self.out).encode(),
                 "\n".join(l for _, l in self.err).encode())
        return self.proc.returncode


def feed(producer, seconds, rate=20, stop_early=lambda: False):
    """Write numbered lines into the producer's stdin at `rate` a second for `seconds`; the number written."""
    began, written = time.monotonic(), 0
    while time.monotonic() - began < seconds and producer.proc.poll() is None and not stop_early():
        try:
            producer.proc.stdin.write(f"line-{written}\n".encode())
            producer.proc.stdin.flush()
        except BrokenPipeError:
            break
        written += 1
        time.sleep(max(0.0, began + written / rate - time.monotonic()))
    try:
        producer.proc.stdin.close()
    except BrokenPipeError:
        pass
    return written


def tokens_handed_out(broker, client=CLIENT):
    """Keycloak's CLIENT_LOGIN events for `client` so far: one a token."""
    text = broker.keycloak.log_file.read_text(errors="replace")
    return len(re.findall(rf'type="CLIENT_LOGIN",.*clientId="{re.escape(client)}"', text))


def topic_values(broker, topic):
    """Every value in `topic` (read as the PLAINTEXT listener's anonymous admin), as text."""
    consumer = Consumer({"bootstrap.servers": broker.plaintext_bootstrap, "group.id": f"check-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        consumer.assign([TopicPartition(topic, p, 0) for p, end in ends.items() if end > 0])
        values, seen, deadline = [], dict.fromkeys(ends, 0), time.monotonic() + 60
        while any(seen[p] < end for p, end in ends.items()) and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                if not msg.error():
                    values.append(msg.value().decode())
                    seen[msg.partition()] = msg.offset() + 1
        return values
    finally:
        consumer.close()


@pytest.fixture
def long_topic(oauth_kafka):
    name = f"oauth-long-{uuid.uuid4().hex[:8]}"
    create_topic(oauth_kafka.admin(), name, 3)
    return name


class TokenRoute:
    """A way to Keycloak's token endpoint on a port of its own, for one client, that can be cut: once cut, a
    connection to it is refused, as to an identity provider that is down, while every other client still gets
    its tokens. Requests pass with their Host header set back to Keycloak's own, so the tokens' issuer is the one
    the broker expects."""

    def __init__(self, keycloak):
        self.keycloak = keycloak
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.url = keycloak.token_url.replace(f":{keycloak.port}/", f":{self.port}/")
        self.open = []  # every connection made through it: librdkafka's HTTP client keeps one open between tokens
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(("127.0.0.1", self.keycloak.port))
            self.open += [client, upstream]
            own, theirs = f"127.0.0.1:{self.port}".encode(), f"127.0.0.1:{self.keycloak.port}".encode()
            threading.Thread(target=self._pipe, args=(client, upstream, own, theirs), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, b"", b""), daemon=True).start()

    @staticmethod
    def _pipe(source, sink, old, new):
        try:
            while data := source.recv(65536):
                sink.sendall(data.replace(old, new) if old else data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        """No new connection, and the open ones closed: the next token request is refused. (close() alone would
        not wake the thread blocked in accept(), and the port would go on listening.)"""
        for sock in (self.server, *self.open):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server.close()


def test_a_long_run_outlives_its_tokens_and_loses_nothing(oauth_kafka, long_topic, tmp_path):
    """And, meanwhile, a second producer whose way to the identity provider is cut 5 s in: its refresh at 48 s
    fails, said once; at 60 s its token expires, the broker ends the session, and it ends, exit 1, counts true."""
    config, before = oauth_kafka.oauth_config, tokens_handed_out(oauth_kafka)
    route = TokenRoute(oauth_kafka.keycloak)
    cut_config = oauth_config(oauth_kafka, tmp_path / "cut.ini", {"sasl.oauthbearer.token.endpoint.url": route.url},
                              drop=("schema.registry.", "bearer.auth."))
    cut_topic = f"{long_topic}-cut"
    create_topic(oauth_kafka.admin(), cut_topic, 3)
    began = time.monotonic()
    consumer = Script(["consumer.py", config, "-t", long_topic, "-g", f"g-{long_topic}", "-F", r"%s\n"], began)
    producer = Script(["producer.py", config, "-t", long_topic, "--no-key"], began, stdin=subprocess.PIPE)
    cut = Script(["producer.py", cut_config, "-t", cut_topic, "--no-key"], began, stdin=subprocess.PIPE)
    threading.Thread(target=feed, args=(cut, 150), daemon=True).start()
    threading.Timer(5, route.cut).start()
    written = feed(producer, RUN_SECONDS)
    assert producer.finish() == 0, producer.err
    deadline = time.monotonic() + 60
    while len(consumer.out) < written and time.monotonic() < deadline:
        time.sleep(0.2)
    consumer.proc.terminate()  # SIGTERM: the consumer commits, says its summary and ends
    consumer.finish()
    assert sorted(line for _, line in consumer.out) == sorted(f"line-{i}" for i in range(written))
    assert [line for _, line in producer.err] == [f"producer.py: {written:,} delivered to {long_topic}, 0 failed "
                                                  f"({producer.err[-1][1].rsplit('(', 1)[1]}"]
    assert [line for _, line in consumer.err if "messages printed" not in line] == []
    handed = tokens_handed_out(oauth_kafka) - before
    refreshes = handed - 3  # the first token of each client
    print(f"\nlong run: {written} lines in {RUN_SECONDS:.0f} s, {handed} tokens handed out by Keycloak "
          f"({refreshes} refreshes; 2 clients all along, 1 cut off after 5 s)", file=sys.stderr)
    assert refreshes >= 2 * int(RUN_SECONDS // 48)
    assert cut.finish(timeout=150) == 1
    expired_with_true_counts(oauth_kafka, cut, cut_topic)


def expired_with_true_counts(broker, producer, topic):
    """`producer`, whose identity provider went away 5 s in, said the failed refresh once, went on, and ended when
    its token expired, every count true."""
    warnings = [(t, line) for t, line in producer.err if "no new OAuth token" in line]
    assert len(warnings) == 1, producer.err
    assert 40 < warnings[0][0] < 60 and warnings[0][1].startswith(
        "producer.py: the identity provider gave no new OAuth token (Failed to connect to 127.0.0.1:"), warnings
    ended = [line for _, line in producer.err if line.startswith("producer.py: ") and "delivered to" in line]
    assert len(ended) == 1 and "the OAuth token expired while the identity provider gave no new one" in ended[0]
    delivered, failed = (int(n.replace(",", "")) for n in SUMMARY.search(ended[0]).groups())
    values = topic_values(broker, topic)
    assert len(values) == delivered and len(set(values)) == delivered  # what it says delivered is there, once
    ended_at = producer.err[-1][0]
    assert 55 < ended_at < 75, f"the run ended at {ended_at:.0f} s, not when its token expired (60 s)"
