"""A Schema Registry is untrusted, as a web page is to a browser: what one schema id may cost (time, memory),
what its text may put on stderr, and that a URL's password is never echoed. The registry here is a real HTTP
server on 127.0.0.1, in a thread of this process, that answers as a broken or hostile registry would."""

import json
import re
import signal
import string
import threading
import time
import tracemalloc
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, assume, given, settings as hypothesis_settings, strategies as st

from kafka_cli.schema import registry as registry_client

from kafka_cli.schema import decode as schema_decode
from kafka_cli.config.ini import ClientConfig, Setting, load_config
from kafka_cli.core.errors import ConfigError
from kafka_cli.config.registry import RegistrySettings, take_registry_settings, without_userinfo
from kafka_cli.schema.decode import SchemaSource, SchemaUnavailable

CHUNK = b"x" * 2**20  # made once: the server's own writes add nothing to the memory measured


class Registry(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.behaviour = "hang"
        self.requests = []  # the paths asked, in order
        self.headers_seen = []
        self.stop = threading.Event()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        server.headers_seen.append(dict(self.headers))
        try:
            getattr(self, "answer_" + server.behaviour)(server)
        except OSError:  # the client gave up: as it should
            pass

    def answer_hang(self, server):
        server.stop.wait(30)

    def answer_drip(self, server):
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if server.stop.wait(2):
                return

    def answer_huge(self, server, announced=False):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if announced:
            self.send_header("Content-Length", str(64 * len(CHUNK)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b'{"schema": "')
        for _ in range(64):
            if server.stop.is_set():
                return
            self.wfile.write(CHUNK)
        self.close_connection = True

    def answer_huge_announced(self, server):
        self.answer_huge(server, announced=True)

    def answer_gzip(self, server):
        self.send_json(200, b"\x1f\x8b" + b"\x00" * 20, {"Content-Encoding": "gzip"})

    def answer_error(self, server):
        self.send_json(500, json.dumps({"error_code": 50001, "message": "\x1b]0;T\x07\x1b[2J boom"}).encode())

    def answer_missing(self, server):
        self.send_json(404, json.dumps({"error_code": 40403, "message": "Schema not found"}).encode())

    def answer_good(self, server, versions_hang=False):
        if self.path.split("?")[0].endswith("/versions"):
            if versions_hang:
                return self.answer_hang(server)
            return self.send_json(200, json.dumps([{"subject": "t-value", "version": 1}]).encode())
        self.send_json(200, json.dumps({"schema": '"string"'}).encode())

    def answer_good_but_versions_hang(self, server):
        self.answer_good(server, versions_hang=True)

    def send_json(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in dict(headers).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def registry():
    server = Registry()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


def source_for(registry, timeout=1.0):
    return SchemaSource(RegistrySettings(conf={"url": registry.url, "timeout": timeout},
                                         origins={"url": "test schema.registry.url"}))


def unavailable(source, schema_id):
    with pytest.raises(SchemaUnavailable) as info:
        source.load(schema_id)
    return info.value


def has_no_raw_control(text):
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") for c in text)


# -- time -----------------------------------------------------------------------------------------------
def test_a_registry_that_drips_one_byte_every_2_s_costs_the_timeout_and_says_so(registry):
    registry.behaviour = "drip"
    started = time.monotonic()
    error = unavailable(source_for(registry, timeout=1.0), 7)
    assert time.monotonic() - started < 2.5  # a bound, not a benchmark: it was never ending
    assert re.search(r"did not answer within 1(\.\d+)? s", str(error)), str(error)
    assert registry.url in str(error)
    # the thread left behind stops soon too: its reads end at the same deadline
    while any(t.name == "schema-id-7" for t in threading.enumerate()):
        assert time.monotonic() - started < 3
        time.sleep(0.05)


def test_a_registry_that_never_answers_costs_one_timeout_not_one_per_try(registry):
    started = time.monotonic()
    error = unavailable(source_for(registry, timeout=1.0), 7)
    assert time.monotonic() - started < 1.9
    assert "did not answer within" in str(error)
    time.sleep(0.5)  # a retry, had there been one, would have reached the server by now
    assert len(registry.requests) == 1


def test_four_unknown_ids_on_a_hung_registry_cost_one_timeout_in_all(registry):
    source = source_for(registry, timeout=1.0)
    started = time.monotonic()
    errors = [unavailable(source, schema_id) for schema_id in (1, 2, 3, 4)]
    assert time.monotonic() - started < 2.5
    assert len(registry.requests) == 1
    for error in errors[1:]:
        assert "did not answer for schema id 1" in str(error) and "not asked again for" in str(error)
        assert registry.url in str(error)
    # the same object again for an id during the cool-down: a caller that tells each once is not spammed
    assert unavailable(source, 2) is errors[1] and unavailable(source, 1) is errors[0]


def test_after_the_cool_down_an_id_is_asked_again_and_a_404_is_remembered(registry, monkeypatch):
    monkeypatch.setattr(schema_decode, "cool_down", lambda timeout: 0.3)
    source = source_for(registry, timeout=0.5)
    unavailable(source, 1)
    fast = unavailable(source, 2)
    assert fast.retry_at is not None and len(registry.requests) == 1
    time.sleep(0.4)
    registry.behaviour = "missing"
    missing = unavailable(source, 2)
    assert "schema id 2 is not in the Schema Registry" in str(missing) and missing.retry_at is None
    assert unavailable(source, 2) is missing and len(registry.requests) == 2  # not asked a third time


def test_a_signal_handler_s_exception_leaves_a_hung_fetch_at_once(registry):
    class Interrupted(BaseException):
        pass

    def handler(signum, frame):
        raise Interrupted()

    source = source_for(registry, timeout=10.0)
    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        started = time.monotonic()
        with pytest.raises(Interrupted):
            source.load(3)
        assert time.monotonic() - started < 0.7  # 0.2 s to the alarm, then at once
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_good_schema_with_a_subject_through_the_bounded_client(registry):
    registry.behaviour = "good"
    source = source_for(registry)
    loaded = source.load(5)
    assert loaded.subject == "t-value" and loaded.codec.kind == "AVRO"
    assert all(headers.get("Accept-Encoding") == "identity" for headers in registry.headers_seen)
    session = source.client._rest_client.session
    assert type(session._transport).__name__ == "CappedTransport"  # the inner objects the bounds rely on
    assert isinstance(session._transport.inner._pool._network_backend, registry_client._DeadlineBackend)


def test_a_subject_lookup_that_hangs_costs_one_timeout_and_the_schema_is_shown_without(registry):
    registry.behaviour = "good_but_versions_hang"
    source = source_for(registry, timeout=1.0)
    started = time.monotonic()
    assert source.load(5).subject is None
    assert source.load(6).subject is None  # its subject not asked: the last lookup got no answer
    assert time.monotonic() - started < 2.5
    assert [path.split("?")[0] for path in registry.requests] == ["/schemas/ids/5", "/schemas/ids/5/versions",
                                                                  "/schemas/ids/6"]


# -- bytes ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("behaviour", ["huge", "huge_announced"])
def test_an_answer_over_the_cap_costs_no_more_than_the_cap(registry, behaviour):
    registry.behaviour = behaviour
    source = source_for(registry, timeout=20.0)
    source.client  # the client's imports and set-up are not the answer's cost
    tracemalloc.start()
    try:
        error = unavailable(source, 9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * registry_client.MAX_ANSWER, peak
    assert "16 MiB" in str(error)
    assert error.retry_at is None  # an answer, not a silence: remembered for the id


def test_a_compressed_answer_is_refused_not_inflated(registry):
    registry.behaviour = "gzip"
    error = unavailable(source_for(registry), 9)
    assert "Content-Encoding gzip" in str(error)


# -- text -----------------------------------------------------------------------------------------------
def test_a_registry_s_error_message_reaches_no_terminal_raw(registry):
    registry.behaviour = "error"
    reason = str(unavailable(source_for(registry), 4))
    assert "HTTP 500" in reason and "boom" in reason
    assert has_no_raw_control(reason), repr(reason)
    assert "\\x1b]0;T\\x07\\x1b[2J" in reason  # shown escaped, not dropped


def test_describe_failure_escapes_every_terminal_control():
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    settings = RegistrySettings(conf={"url": "http://r:1", "timeout": 1.0})
    nasty = "a\x1b[31m\x9b2J\u202eb\u2028c\x7f\u200bd"
    line = registry_client.describe_failure(SchemaRegistryError(500, 1, nasty), settings)
    assert has_no_raw_control(line), repr(line)
    assert has_no_raw_control(registry_client.describe_failure(OSError(nasty), settings))


# -- secrets --------------------------------------------------------------------------------------------
def registry_refusal(url, source=None):
    config = ClientConfig(path="config.ini", settings={"bootstrap.servers": Setting("b:1", "config.ini line 2")})
    config.settings["schema.registry.url"] = Setting(url, "config.ini line 3 [default]")
    if source is not None:
        config.settings["basic.auth.credentials.source"] = Setting(source, "config.ini line 4 [default]")
    with pytest.raises(ConfigError) as info:
        take_registry_settings(config)
    return str(info.value.message)


@pytest.mark.parametrize("url", ["htps://admin:Hunter2Secret@registry.example.com",
                                 "http://a:Hunter2Secret@h,https://ok", "http://user:Hunter2Secret@[bad",
                                 "admin:Hunter2Secret@host", "https://ok, ftp://u:Hunter2Secret@x/y"])
def test_a_password_in_the_url_is_never_echoed(url):
    message = registry_refusal(url)
    assert "Hunter2Secret" not in message and "credentials in the URL" in message


PASSWORD_CHARACTERS = string.ascii_letters + string.digits + "/,@:%!$&'()*+;=[]?#~-._ "


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scheme=st.sampled_from(["http://", "https://", "htps://", "HTTP://", "ftp://", "", "//", "http:/"]),
       user=st.text(string.ascii_letters + string.digits + ".-_", max_size=8),
       password=st.text(PASSWORD_CHARACTERS, min_size=6, max_size=20).map(lambda tail: "Hunter2" + tail),
       host=st.sampled_from(["registry.example.com", "[bad", "h:8081", "", "x/y?z#w", "10.0.0.1"]),
       before=st.sampled_from(["", "https://ok,", "nonsense, ", "http://a:b@c,"]),
       after=st.sampled_from(["", ",https://ok", ", http://x", ",,", ",u:v@w"]))
def test_any_url_with_a_password_gives_a_config_error_without_it(tmp_path, scheme, user, password, host, before,
                                                                 after):
    url = f"{before}{scheme}{user}:{password}@{host}{after}"
    message = registry_refusal(url)
    assert password not in message and "Hunter2" not in message
    # the whole way, from a config file too; ${ in a password would be read as a variable reference first
    path = tmp_path / "config.ini"
    path.write_text(f"[default]\nbootstrap.servers=b:1\nschema.registry.url={url}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), "consumer", ())
    assert "Hunter2" not in str(info.value.message)


@given(st.text(max_size=40), st.text(max_size=20), st.text(max_size=40))
def test_without_userinfo_never_keeps_a_password(head, secret, tail):
    assume("Hunter2" not in tail)
    assert "Hunter2" not in without_userinfo(f"{head}:Hunter2{secret}@{tail}")


def test_without_userinfo_keeps_the_rest():
    assert without_userinfo("https://u:p@reg.example.com:8081/x") == "https://reg.example.com:8081/x"
    assert without_userinfo("http://a:b@h,https://ok") == "http://h,https://ok"
    assert without_userinfo("http://a:b@h,https://c:d@k") == "http://k"  # unclear extent: more goes, never less
    assert without_userinfo("https://reg:8081,https://two") == "https://reg:8081,https://two"
