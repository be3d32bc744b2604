"""Talking to the Schema Registry: confluent-kafka's SchemaRegistryClient made from the config's RegistrySettings
(a timeout on every call), and its failures as one sentence that names the registry and never the secret.

The registry is treated as untrusted, as a web page is by a browser: every answer is capped in size, a deadline
set for a thread (`deadline`) bounds every connect and read that thread makes however the registry drips its
bytes, and its text reaches a message only escaped.

Imported only when a registry is configured or a schema format is asked for: a plain run never loads httpx."""

import sys
import threading
import time
from contextlib import contextmanager

from kafka_cli.core.errors import ConfigError
from kafka_cli.core.escaping import shown
from kafka_cli.core.words import one_line
from kafka_cli.config.registry import without_userinfo

# The most one registry answer may hold. A Confluent registry keeps each schema as a record of its _schemas
# topic (1 MB at most by Kafka's defaults) and the largest real schemas are a few hundred KB: 16 MiB leaves
# room for any of them and their JSON escaping, while a registry that answers without end costs 16 MiB of
# memory, not all of it (1.5 GB of answer took 5.7 GB of memory before).
MAX_ANSWER = 16 * 1024 * 1024


class UnsafeAnswer(Exception):
    """An answer not read: larger than MAX_ANSWER, or compressed though asked not to be (a small compressed
    answer can inflate past any cap). Not a transport error, so the client does not ask again."""


class DeadlinePassed(Exception):
    """The thread's deadline (see `deadline`) passed before a connect or read: no new one is started."""


_local = threading.local()  # .deadline: time.monotonic() by which this thread's registry calls must be done


@contextmanager
def deadline(at):
    """Bound every registry call the current thread makes inside the block by time.monotonic() `at`: each
    connect, TLS handshake, read and write gets only what is left, so a registry that sends one byte per
    second cannot stretch a call past `at` (httpx's own timeouts are per read)."""
    before = getattr(_local, "deadline", None)
    _local.deadline = at
    try:
        yield
    finally:
        _local.deadline = before


def _left(timeout):
    """`timeout` (seconds or None) cut to what is left of the thread's deadline; DeadlinePassed if none is."""
    at = getattr(_local, "deadline", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise DeadlinePassed("the deadline passed")
    return left if timeout is None else min(timeout, left)


def make_client(settings):
    """A SchemaRegistryClient for `settings` (registry_config.RegistrySettings), its answers bounded."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    try:
        client = SchemaRegistryClient(settings.client_conf())
    except (ValueError, TypeError) as e:  # its own checks (ssl.key.location without a certificate, ...)
        raise ConfigError(f"Schema Registry settings ({settings.origins.get('url', 'the config')}): "
                          f"{shown(one_line(e, 200))}") from None
    _bound(client)
    return client


def _bound(client):
    """Put the size cap and the thread deadline into the client's httpx session, and into the one its OAuth token
    fetcher uses (bearer.auth.*: authlib's OAuth2Client, an httpx client too): each transport (the default
    one and any proxy's from the environment) wrapped, and each connection pool's network backend wrapped.
    These are the client's and httpx's inner objects; tests/unit/test_registry_bounds.py checks they are
    still there, so a new version that moves them is noticed."""
    rest = getattr(client, "_rest_client", None)
    token_fetcher = getattr(getattr(rest, "bearer_field_provider", None), "client", None)
    for session in (getattr(rest, "session", None), token_fetcher):
        if session is not None and hasattr(session, "_transport"):
            _bound_session(session)


def _bound_session(session):
    # httpx or httpx2, whichever confluent-kafka uses: the package of the session's class or of the httpx class
    # it extends (authlib's OAuth2Client)
    package = next(kind.__module__.split(".")[0] for kind in type(session).__mro__
                   if kind.__module__.split(".")[0].startswith("httpx"))
    httpx = sys.modules[package]
    capped = _capped_transport(httpx)
    session._transport = capped(session._transport)
    session._mounts = {pattern: None if transport is None else capped(transport)
                       for pattern, transport in session._mounts.items()}


def _capped_transport(httpx):
    class CappedStream(httpx.SyncByteStream):
        def __init__(self, stream):
            self.stream = stream

        def __iter__(self):
            count = 0
            for chunk in self.stream:
                count += len(chunk)
                if count > MAX_ANSWER:
                    raise UnsafeAnswer(f"sent an answer larger than {MAX_ANSWER // 2**20} MiB (not read further)")
                yield chunk

        def close(self):
            self.stream.close()

    class CappedTransport(httpx.BaseTransport):
        def __init__(self, inner):
            self.inner = inner
            pool = getattr(inner, "_pool", None)
            if pool is not None and hasattr(pool, "_network_backend"):
                pool._network_backend = _DeadlineBackend(pool._network_backend)

        def handle_request(self, request):
            # httpx would inflate a gzip answer above this transport, past any count made here: ask for none
            request.headers["Accept-Encoding"] = "identity"
            response = self.inner.handle_request(request)
            encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
            length = response.headers.get("Content-Length", "").strip()
            problem = None
            if encoding not in ("", "identity"):
                problem = f"answered in Content-Encoding {shown(one_line(encoding, 40))}, though asked for none"
            elif length.isdigit() and int(length) > MAX_ANSWER:
                problem = f"announced an answer of {int(length):,} bytes, over the {MAX_ANSWER // 2**20} MiB taken"
            if problem:
                response.close()
                raise UnsafeAnswer(problem)
            return httpx.Response(response.status_code, headers=response.headers,
                                  stream=CappedStream(response.stream), extensions=response.extensions)

        def close(self):
            self.inner.close()

    return CappedTransport


class _DeadlineBackend:
    """An httpcore network backend whose every blocking step takes no longer than the thread's deadline."""

    def __init__(self, inner):
        self.inner = inner

    def connect_tcp(self, host, port, timeout=None, *args, **kwargs):
        return _DeadlineStream(self.inner.connect_tcp(host, port, _left(timeout), *args, **kwargs))

    def connect_unix_socket(self, path, timeout=None, *args, **kwargs):
        return _DeadlineStream(self.inner.connect_unix_socket(path, _left(timeout), *args, **kwargs))

    def sleep(self, seconds):
        self.inner.sleep(seconds)


class _DeadlineStream:
    def __init__(self, inner):
        self.inner = inner

    def read(self, max_bytes, timeout=None):
        return self.inner.read(max_bytes, _left(timeout))

    def write(self, buffer, timeout=None):
        self.inner.write(buffer, _left(timeout))

    def close(self):
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info):
        return self.inner.get_extra_info(info)


def where(settings):
    """The registry as messages name it: its URL without any user:password@."""
    return without_userinfo(settings.url)


def describe_failure(error, settings, spent=None):
    """What went wrong talking to the registry, in one line: refused credentials, an unknown id or subject, or
    no answer (down, timeout, TLS). `spent`: the seconds the call took, told for a timeout when known."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    at = where(settings)
    oauth = getattr(settings, "oauth", False)  # RegistrySettings; a stand-in without it is basic auth
    if type(error).__name__ == "OAuthTokenError" or (oauth and getattr(error, "http_status_code", 0) == 401):
        return _token_failure(error, settings)
    if isinstance(error, SchemaRegistryError):
        status, code, text = error.http_status_code, error.error_code, shown(one_line(error.error_message, 200))
        user = shown(one_line(settings.user(), 200))
        if status == 401:
            who = f"user '{user}'" if settings.user() else "no credentials (basic.auth.user.info is not set)"
            return f"the Schema Registry at {at} refused {who}: HTTP 401 (check basic.auth.user.info)"
        if status == 403:
            return f"the Schema Registry at {at} does not allow user '{user}' this: HTTP 403"
        return f"the Schema Registry at {at} answered HTTP {status} (error {shown(one_line(code, 200))}): {text}"
    if isinstance(error, UnsafeAnswer):
        return f"the Schema Registry at {at} {error}"
    name = type(error).__name__
    if "Timeout" in name or isinstance(error, DeadlinePassed):
        return f"the Schema Registry at {at} did not answer within {_seconds(spent or settings.conf['timeout'])} s"
    if "Connect" in name or isinstance(error, OSError):
        return f"the Schema Registry at {at} cannot be reached: {shown(one_line(error, 200)) or name}"
    return f"the Schema Registry at {at} failed: {name}: {shown(one_line(error, 200))}"


def _token_failure(error, settings):
    """OAuth for the registry (bearer.auth.*) failed: the identity provider refused the client or gave no token, or
    the registry refused the token (HTTP 401: an audience or issuer it does not expect)."""
    at, client = where(settings), shown(one_line(settings.conf.get("bearer.auth.client.id"), 100))
    if getattr(error, "http_status_code", None) == 401:
        return (f"the Schema Registry at {at} refused the bearer token of client '{client}': HTTP 401 (its issuer or "
                "audience is not one the registry takes): check bearer.auth.issuer.endpoint.url and "
                "bearer.auth.client.id")
    detail = shown(one_line(str(getattr(error, "message", None) or error).split("due to error: ", 1)[-1], 200))
    if any(word in detail for word in ("invalid_client", "unauthorized_client", "invalid_grant")):
        return (f"the identity provider refused client '{client}' a token for the Schema Registry at {at} ({detail}): "
                "check bearer.auth.client.id and bearer.auth.client.secret")
    endpoint = shown(one_line(without_userinfo(settings.conf.get("bearer.auth.issuer.endpoint.url")), 200))
    return (f"no token for the Schema Registry at {at}: the token endpoint {endpoint} failed ({detail}): check "
            "bearer.auth.issuer.endpoint.url")


def not_in_registry(what, settings):
    """The registry answered that it has no `what` ("schema id 7", "subject orders-value version 2")."""
    return f"{what} is not in the Schema Registry at {where(settings)}"


def refusal(error, what, settings):
    """A failed registry call about `what`, in one line: not there (HTTP 404), or describe_failure's words."""
    if is_not_found(error):
        return not_in_registry(what, settings)
    return f"{what}: {describe_failure(error, settings)}"


def register_once(client, subject, schema):
    """(version, schema id, already registered) of `schema` under `subject`: looked up first, so registering the
    same schema again is told as such and adds no version; registered otherwise. The registry's own refusals
    (incompatible, invalid) are raised as they come."""
    try:
        found = client.lookup_schema(subject, schema)
        return found.version, found.schema_id, True
    except Exception as e:
        if not is_not_found(e):  # 404: no such subject, or the schema is not in it
            raise
    registered = client.register_schema_full_response(subject, schema)
    version = registered.version
    if version is None:  # a registry answers the registration with the id alone: the version is looked up
        version = client.lookup_schema(subject, schema).version
    return version, registered.schema_id, False


def is_not_found(error):
    """True for the registry's 'no such schema id / subject / version' answers (HTTP 404)."""
    return getattr(error, "http_status_code", None) == 404


def is_transport_failure(error):
    """True when the registry gave no answer at all (down, unreachable, timed out, broke off): worth asking
    again later, unlike an answer such as a 404."""
    if isinstance(error, (DeadlinePassed, OSError)):
        return True
    httpx = sys.modules.get(type(error).__module__.split(".")[0])
    transport_error = getattr(httpx, "TransportError", None)
    return isinstance(transport_error, type) and isinstance(error, transport_error)


def _seconds(value):
    return f"{value:.3g}"

