"""The long run of the OAuth tests, started with the OAuth world and running beside the other OAuth tests (so CI
waits for it once, not after them): a producer fed OAUTH_RUN_SECONDS (100 s; 300 for the issue's five minutes) and
a consumer reading meanwhile, their tokens fetched through a route to Keycloak that counts them; and a second
producer whose own route to Keycloak is cut 5 s in (a provider that is down). test_oauth_tokens_expire.py judges
what each did."""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid

from confluent_kafka import Consumer, TopicPartition

from local_kafka import create_topic
from tests.conftest import ROOT

RUN_SECONDS = float(os.environ.get("OAUTH_RUN_SECONDS", "100"))
CUT_AFTER = 5.0


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
        from tests.integration.oauth.conftest import remember

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
        self.requests = 0  # token requests passed on: one a token
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

    def _pipe(self, source, sink, old, new):
        try:
            while data := source.recv(65536):
                self.requests += data.count(b"POST ") if old else 0
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


class LongRun:
    """The processes of the long run and of the cut-off producer, started at once; finish() waits for their ends."""

    def __init__(self, broker, directory, write_config):
        self.broker, self.topic = broker, f"oauth-long-{uuid.uuid4().hex[:8]}"
        self.cut_topic = f"{self.topic}-cut"
        for name in (self.topic, self.cut_topic):
            create_topic(broker.admin(), name, 3)
        self.route, self.cut_route = TokenRoute(broker.keycloak), TokenRoute(broker.keycloak)
        config = write_config(directory / "long.ini", self.route.url)
        cut_config = write_config(directory / "cut.ini", self.cut_route.url)
        self.began = time.monotonic()
        self.consumer = Script(["consumer.py", config, "-t", self.topic, "-g", f"g-{self.topic}", "-F", r"%s\n"],
                               self.began)
        self.producer = Script(["producer.py", config, "-t", self.topic, "--no-key"], self.began, stdin=subprocess.PIPE)
        self.cut = Script(["producer.py", cut_config, "-t", self.cut_topic, "--no-key"], self.began,
                          stdin=subprocess.PIPE)
        self.written, self.finished = None, False
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()
        threading.Thread(target=feed, args=(self.cut, 150), daemon=True).start()
        threading.Timer(CUT_AFTER, self.cut_route.cut).start()

    def _feed(self):
        self.written = feed(self.producer, RUN_SECONDS)

    def finish(self):
        """Wait for the producer's end and the consumer's last line, then stop the consumer (SIGTERM: it commits,
        says its summary and ends) and wait for the cut-off producer. Once: a second call returns at once."""
        if self.finished:
            return self
        self.finished = True
        self.feeder.join(RUN_SECONDS + 60)
        self.producer.finish()
        deadline = time.monotonic() + 60
        while len(self.consumer.out) < self.written and time.monotonic() < deadline:
            time.sleep(0.2)
        self.consumer.proc.terminate()
        self.consumer.finish()
        self.cut.finish(timeout=150)
        return self

    def kill(self):
        for script in (self.consumer, self.producer, self.cut):
            if script.proc.poll() is None:
                script.proc.kill()
