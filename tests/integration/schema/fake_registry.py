"""A Schema Registry a test writes itself: an HTTP server on 127.0.0.1 (a daemon thread, ThreadingHTTPServer) that
answers Confluent's few read calls the consumer makes with whatever the test put in it, well formed or not, and
that can misbehave on purpose: drip its answer a byte at a time, never answer, fail with HTTP 500 and a message
holding terminal escapes, send a huge or a compressed body.

    registry = FakeRegistry()           # listening at registry.url
    registry.schemas[7] = {"schema": '"string"'}                        # GET /schemas/ids/7 -> 200 and that JSON
    registry.versions[("subj", "1")] = {"subject": "subj", "version": 1, "id": 8, "schema": "..."}
    registry.guids["0b1c..."] = {"schema": '"string"'}                 # GET /schemas/guids/0b1c... -> 200 and that
    registry.schemas[9] = Drip(body, every=0.5) / Hang() / Fail(500, message) / Huge(size) / Raw(...)
    registry.requests                   # every path asked, decoded, in order
    registry.close()

Anything not set is a 404 with Confluent's error body, except /schemas/ids/N/versions, which answers [] (the
consumer asks it for the subject; a registry that knows none says so)."""

import functools
import json
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class Raw:
    """Exactly these bytes, with this status and these headers (Content-Length added unless given)."""
    body: bytes
    status: int = 200
    headers: dict = field(default_factory=dict)


@dataclass
class Drip:
    """A 200 whose body (announced in full by Content-Length) comes one byte every `every` seconds."""
    body: bytes
    every: float = 0.5


@dataclass
class Hang:
    """The request is read, then nothing at all is sent until the registry is closed."""


@dataclass
class Fail:
    """An error status with Confluent's error body {"error_code": ..., "message": message}."""
    status: int = 500
    message: str = "internal error"
    error_code: int = 50001


@dataclass
class Huge:
    """A 200 of `size` bytes of one JSON string, sent as fast as the client reads; announced by Content-Length when
    `announce`, else the end is the connection's close."""
    size: int
    announce: bool = True


@dataclass
class Bomb:
    """A 200 in Content-Encoding gzip: a small body (about a thousandth of `size`) that inflates to `size`
    bytes of spaces (a whole number of MiB)."""
    size: int = 256 << 20


@functools.lru_cache(maxsize=4)
def _bomb(size):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip format
    mib = b" " * (1 << 20)
    return b"".join(packer.compress(mib) for _ in range(size >> 20)) + packer.flush()


def answer_bytes(answer):
    """A plain answer (anything json.dumps takes, or bytes/str as they are) as the body's bytes."""
    if isinstance(answer, bytes):
        return answer
    if isinstance(answer, str):
        return answer.encode("utf-8", "surrogatepass")
    return json.dumps(answer).encode("utf-8", "surrogatepass")


NOT_FOUND = {"error_code": 40403, "message": "Schema not found"}
CHUNK = 64 * 1024


class FakeRegistry:
    def __init__(self):
        self.schemas = {}  # schema id (int) -> answer of GET /schemas/ids/{id}
        self.versions = {}  # (subject, version as text) -> answer of GET /subjects/{subject}/versions/{version}
        self.schema_versions = {}  # schema id -> answer of GET /schemas/ids/{id}/versions ([] when not set)
        self.guids = {}  # GUID (text) -> answer of GET /schemas/guids/{guid}
        self.requests = []  # every path asked (query left out), percent-decoded, in order
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.registry = self
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-registry", daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self):
        with self._lock:
            self.schemas.clear()
            self.versions.clear()
            self.schema_versions.clear()
            self.guids.clear()
            self.requests.clear()

    def close(self):
        self._closed.set()  # every Hang and Drip ends
        self.server.shutdown()
        self.server.server_close()

    def _answer_for(self, path):
        """The answer set for `path` (percent-decoded segments), or NOT_FOUND as Fail."""
        parts = [unquote(p, errors="surrogateescape") for p in path.strip("/").split("/")]
        with self._lock:
            self.requests.append("/" + "/".join(parts))
            if len(parts) >= 3 and parts[:2] == ["schemas", "ids"] and parts[2].lstrip("-").isdigit():
                schema_id = int(parts[2])
                if len(parts) == 3:
                    return self.schemas.get(schema_id, Fail(404, NOT_FOUND["message"], 40403))
                if len(parts) == 4 and parts[3] == "versions":
                    return self.schema_versions.get(schema_id, [])
            if len(parts) == 3 and parts[:2] == ["schemas", "guids"]:
                return self.guids.get(parts[2], Fail(404, NOT_FOUND["message"], 40403))
            if len(parts) == 4 and parts[0] == "subjects" and parts[2] == "versions":
                return self.versions.get((parts[1], parts[3]), Fail(404, "Subject not found", 40401))
        return Fail(404, "Not found", 404)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # the test's output is the consumer's, not ours
        pass

    def do_GET(self):
        registry = self.server.registry
        answer = registry._answer_for(urlsplit(self.path).path)
        try:
            self._send(answer, registry._closed)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on us: that is what the misbehaving answers are for

    def _head(self, status, length=None, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        for name, value in dict(headers).items():
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _send(self, answer, closed):
        if isinstance(answer, Hang):
            closed.wait()
            self.close_connection = True
            return
        if isinstance(answer, Drip):
            self._head(200, len(answer.body))
            self.wfile.flush()
            for i in range(len(answer.body)):
                if closed.wait(answer.every):
                    return
                self.wfile.write(answer.body[i:i + 1])
                self.wfile.flush()
            return
        if isinstance(answer, Huge):
            self._head(200, answer.size if answer.announce else None)
            self.wfile.write(b'"')
            sent, chunk = 1, b"a" * CHUNK
            while sent < answer.size and not closed.is_set():
                piece = chunk[:answer.size - sent]
                self.wfile.write(piece)
                sent += len(piece)
            return
        if isinstance(answer, Bomb):
            body = _bomb(answer.size)
            self._head(200, len(body), {"Content-Encoding": "gzip"})
            self.wfile.write(body)
            return
        if isinstance(answer, Fail):
            body = answer_bytes({"error_code": answer.error_code, "message": answer.message})
            self._head(answer.status, len(body))
            self.wfile.write(body)
            return
        if isinstance(answer, Raw):
            headers = dict(answer.headers)
            length = None if "Content-Length" in headers else len(answer.body)
            self._head(answer.status, length, headers)
            self.wfile.write(answer.body)
            return
        body = answer_bytes(answer)
        self._head(200, len(body))
        self.wfile.write(body)
