"""What producer.py and consumer.py share: reading the INI config, turning Kafka's
errors into messages a person can act on, logging, and keeping secrets out of output.

Config in, dict out: nothing here talks to a broker, so all of it is testable without one.
"""

import codecs
import logging
import os
import re
import stat
import sys
import time
from dataclasses import dataclass, field

import click

DEFAULT_TOPIC = "topic_0"
MAX_CONFIG_BYTES = 1024 * 1024
SECTIONS = ("default", "consumer", "producer")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

_SECRET_KEY = re.compile(r"(password|secret|jaas|\.pem$|token|credentials)", re.I)
_ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9 _-]*>")  # as in config.ini.example: <API KEY>
_SECRETS = set()  # values that must never be printed; filled by load_config and -X


# -- secrets ------------------------------------------------------------------
def is_secret_property(name):
    return bool(_SECRET_KEY.search(name))


def remember_secret(value):
    if value and len(value) >= 3:
        _SECRETS.add(value)


def redact(text):
    """`text` with every known secret replaced by ***."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class CliError(click.ClickException):
    """A failure the user can act on; printed as 'Error: ...' with secrets removed. Exit 1."""

    exit_code = EXIT_FAILURE

    def format_message(self):
        return redact(self.message)


class ConfigError(CliError):
    """Bad config file, property or option value. Exit 2."""

    exit_code = EXIT_USAGE


# -- the config file -------------------------------------------------------------
@dataclass
class Setting:
    value: str
    origin: str  # where a person finds it: "config.ini line 4 [default]" or "-X acks=1"


@dataclass
class ClientConfig:
    path: str
    settings: dict = field(default_factory=dict)  # property -> Setting
    secret_in_file: bool = False  # a credential written in the file itself, not via ${ENV}
    warnings: list = field(default_factory=list)

    def as_dict(self):
        return {k: s.value for k, s in self.settings.items()}

    def get(self, name, default=None):
        s = self.settings.get(name)
        return s.value if s else default

    def origin(self, name):
        s = self.settings.get(name)
        return s.origin if s else f"{self.path} (not set)"

    def set_default(self, name, value):
        if name not in self.settings:
            self.settings[name] = Setting(value, "built-in default")


def parse_ini(text, path):
    """{section: {key: (value, line number)}} from INI text; keys before any header go to [default]."""
    sections = {}
    current = "default"
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise ConfigError(f"{path} line {lineno}: malformed section header {line[:60]!r}")
            current = line[1:-1].strip()
            if current in sections:
                raise ConfigError(f"{path} line {lineno}: section [{current}] appears twice")
            sections[current] = {}
            continue
        key, sep, value = line.partition("=")
        if not sep:
            first_word = re.split(r"[\s:]", line, 1)[0]
            shown = f"{first_word} ..." if is_secret_property(first_word) else _shorten(line)
            raise ConfigError(f"{path} line {lineno}: expected 'property=value', got {shown!r}")
        key = key.strip()
        if not key:
            raise ConfigError(f"{path} line {lineno}: a value without a property name")
        entries = sections.setdefault(current, {})
        if key in entries:
            raise ConfigError(f"{path} line {lineno} [{current}]: {key} is set twice "
                              f"(also on line {entries[key][1]})")
        entries[key] = (value.strip(), lineno)
    return sections


def _shorten(text, limit=60):
    return text if len(text) <= limit else text[:limit] + "..."


def read_config_text(path):
    try:
        size = os.path.getsize(path)
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes is far too large for a config file (limit {MAX_CONFIG_BYTES:,})")
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)  # a FIFO reports no size
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: far too large for a config file (limit {MAX_CONFIG_BYTES:,} bytes)")
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file: {e.strerror}")
    if b"\0" in data:
        raise ConfigError(f"{path}: holds binary data (NUL bytes), not an INI config file")
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: bom + e.start].count(b"\n") + 1
        raise ConfigError(f"{path} line {line}: not UTF-8 text (bad byte at offset {bom + e.start})")


def _expand_env(value, where, secret):
    def substitute(match):
        name = match.group(1)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            shown = "a ${...}" if secret else f"${{{name}}}"
            raise ConfigError(f"{where}: {shown} is not a valid environment variable reference")
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set (referenced as ${{{name}}})")
        return os.environ[name]

    return _ENV_REFERENCE.sub(substitute, value)


def load_config(path, role, properties=()):
    """Read `path`, merge [default] with [role], apply -X KEY=VALUE overrides; expand ${ENV};
    reject placeholders and a missing bootstrap.servers."""
    sections = parse_ini(read_config_text(path), path)
    config = ClientConfig(path)
    for section in ("default", role):
        for key, (raw, lineno) in sections.get(section, {}).items():
            where = f"{path} line {lineno} [{section}] {key}"
            secret = is_secret_property(key)
            if _PLACEHOLDER.fullmatch(raw):
                raise ConfigError(f"{where}: still holds the placeholder {raw} from config.ini.example; "
                                  "fill in the real value")
            value = _expand_env(raw, where, secret)
            if secret:
                remember_secret(value)
                config.secret_in_file = config.secret_in_file or (value == raw and bool(value))
            config.settings[key] = Setting(value, f"{path} line {lineno} [{section}]")
    for section in set(sections) - set(SECTIONS):
        config.warnings.append(f"{path}: section [{section}] is not read (only [default], [consumer], [producer])")
    apply_properties(config, properties)
    bootstrap = config.get("bootstrap.servers")
    if bootstrap is None:
        raise ConfigError(f"{path}: bootstrap.servers is not set in [default]; it is the cluster's host:port")
    if not bootstrap.strip():
        raise ConfigError(f"{config.origin('bootstrap.servers')} bootstrap.servers: is empty; "
                          "it is the cluster's host:port")
    return config


def apply_properties(config, properties):
    """-X KEY=VALUE options, each overriding the file."""
    for item in properties:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            shown = f"{key.strip()}=..." if is_secret_property(key) else _shorten(item)
            raise ConfigError(f"-X {shown!r}: expected KEY=VALUE")
        key = key.strip()
        if is_secret_property(key):
            remember_secret(value)
        config.settings[key] = Setting(value, f"-X {key}")


def parse_headers(items):
    headers = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"-H {_shorten(item)!r}: expected NAME=VALUE")
        headers.append((name, os.fsencode(value)))
    return headers


def warn_if_readable_by_others(config, log):
    """A file holding a password should be private to its owner."""
    for warning in config.warnings:
        log.warning("%s", warning)
    if not config.secret_in_file:
        return
    try:
        mode = os.stat(config.path).st_mode
    except OSError:
        return
    if stat.S_ISREG(mode) and mode & 0o077:
        log.warning("%s holds a password and is readable by %s; fix with: chmod 600 %s",
                    config.path, "others" if mode & 0o007 else "its group", config.path)


# -- building clients ----------------------------------------------------------------
_PYTHON_BOOL_PROPERTIES = {"delivery.report.only.error"}


def build_client(client_class, config, **callbacks):
    """Consumer/Producer from the config; librdkafka's refusals become errors naming the property."""
    from confluent_kafka import KafkaException

    settings = config.as_dict()
    for name in _PYTHON_BOOL_PROPERTIES & settings.keys():  # read by confluent-kafka itself, not librdkafka
        value = settings[name].strip().lower()
        if value not in ("true", "false"):
            raise ConfigError(f"{config.origin(name)}: {name} must be true or false, not {settings[name]!r}")
        settings[name] = value == "true"
    try:
        return client_class({**settings, **callbacks})
    except KafkaException as e:
        raise ConfigError(explain_config_refusal(e.args[0].str(), config))
    except (ValueError, TypeError) as e:
        raise ConfigError(explain_config_refusal(str(e), config))


# librdkafka names some properties by their canonical name when it refuses them
_ALIASES = {"request.required.acks": "acks", "queue.buffering.max.ms": "linger.ms",
            "sasl.mechanism": "sasl.mechanisms", "sasl.mechanisms": "sasl.mechanism",
            "metadata.broker.list": "bootstrap.servers"}


def explain_config_refusal(text, config):
    """librdkafka's refusal of a property, told with where the property was set."""
    match = re.search(r'property[:\s]+"?([A-Za-z0-9_.\-]+)"?', text)
    name = match.group(1) if match else None
    if name and name not in config.settings and _ALIASES.get(name) in config.settings:
        name = _ALIASES[name]
    reason = redact(text).strip()
    if name and name in config.settings:
        where = config.origin(name)
        if "No such configuration property" in text:
            return f"{where}: {name} is not a Kafka client property (librdkafka does not know it)"
        if is_secret_property(name):
            return f"{where}: {name}: invalid value"
        return f"{where}: {name}: {reason}"
    return f"{config.path}: the Kafka client refused the configuration: {reason}"


def describe_kafka_error(err, config):
    """A sentence for a broker-side error, naming the config key to look at; None if not fatal."""
    from confluent_kafka import KafkaError

    code, text = err.code(), err.str()
    path = config.path
    if code == KafkaError._AUTHENTICATION:
        if "mechanism" in text.lower():
            return (f"SASL mechanism refused by the broker ({text}): check sasl.mechanisms "
                    f"({config.get('sasl.mechanisms')!s}) in {path}")
        return (f"authentication failed for user '{config.get('sasl.username', '')}': check sasl.username "
                f"and sasl.password in {path} (on Confluent Cloud: the API key and its secret)")
    if code == KafkaError._SSL:
        if "hostname" in text.lower() or "match" in text.lower():
            return (f"TLS: the broker's certificate does not match the host name in bootstrap.servers "
                    f"({config.get('bootstrap.servers')}) in {path}")
        if "wrong version number" in text.lower() or "record layer" in text.lower():
            return (f"TLS handshake failed ({text}): is bootstrap.servers in {path} the SASL_SSL endpoint, "
                    "not a PLAINTEXT one?")
        return (f"TLS: the broker's certificate could not be verified ({_ssl_reason(text)}): "
                f"check ssl.ca.location in {path} (the CA that signed the broker's certificate)")
    if code in (KafkaError._INVALID_ARG, KafkaError._UNSUPPORTED_FEATURE) or err.fatal():
        return f"{text} (config: {path})"
    return None


def _tls_verify_failure(config):
    """librdkafka says only "certificate verify failed" (the same for an unknown CA and a host name the
    certificate does not list): ask Python's TLS which check failed. (OpenSSL verify code, message) or (None, None)."""
    import socket
    import ssl

    first = config.get("bootstrap.servers", "").split(",")[0].strip().split("://")[-1]
    host, _, port = first.rpartition(":")
    host = host.strip("[]")
    ca = config.get("ssl.ca.location")
    try:
        context = ssl.create_default_context(cafile=ca if ca and os.path.isfile(ca) else None,
                                             capath=ca if ca and os.path.isdir(ca) else None)
        if config.get("ssl.endpoint.identification.algorithm", "https") == "none":
            context.check_hostname = False
        with socket.create_connection((host, int(port)), timeout=3) as sock:
            context.wrap_socket(sock, server_hostname=host).close()
    except ssl.SSLCertVerificationError as e:
        return e.verify_code, e.verify_message
    except (OSError, ValueError):
        pass
    return None, None


def _ssl_reason(text):
    if "certificate verify failed" in text:
        return "certificate verify failed"
    return text


def is_connectivity_error(err):
    from confluent_kafka import KafkaError

    return err.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE,
                          KafkaError._TIMED_OUT)


class ClusterErrors:
    """The client's error callback. A fatal error ends the run; trouble reaching the broker is said
    once, and only if it lasts: a refused login, for one, first looks like "all brokers down"."""

    SAY_AFTER = 1.5

    def __init__(self, config, log):
        self.config = config
        self.log = log
        self._fatal = None
        self._unverified = False  # a certificate verify failure, not yet looked into
        self.trouble = None  # (first error text, since when)
        self.said = False

    @property
    def fatal(self):
        if self._unverified:  # once, from the main loop: never inside librdkafka's callback (it can stall there)
            self._unverified = False
            code, detail = _tls_verify_failure(self.config)
            if code == 62:  # X509_V_ERR_HOSTNAME_MISMATCH
                self._fatal = (f"TLS: the broker's certificate does not match the host name in bootstrap.servers "
                               f"({self.config.get('bootstrap.servers')}) in {self.config.path}: "
                               f"{detail.rstrip('.')}; use a name the certificate lists")
        return self._fatal

    def __call__(self, err):
        message = describe_kafka_error(err, self.config)
        if message:
            if self._fatal is None and "certificate verify failed" in err.str():
                self._unverified = True
            self._fatal = self._fatal or message
        elif is_connectivity_error(err) and self.trouble is None:
            self.trouble = (err.str(), time.monotonic())

    def check(self, client, doing):
        """From the main loop: say 'waiting' once if the trouble is real (a metadata probe fails)."""
        if self.trouble is None or self.said or self.fatal or time.monotonic() - self.trouble[1] < self.SAY_AFTER:
            return
        from confluent_kafka import KafkaException

        try:
            client.list_topics(timeout=0.5)
            self.trouble = None  # it was a passing disconnect
            return
        except KafkaException:
            pass
        self.said = True
        self.log.warning("cannot reach the broker (%s): %s; check bootstrap.servers=%s (%s)",
                         self.trouble[0], doing, self.config.get("bootstrap.servers"),
                         self.config.origin("bootstrap.servers"))

    def recovered(self):
        if self.said:
            self.log.warning("the broker answers again")
        self.trouble, self.said = None, False


# -- logging ------------------------------------------------------------------------
class _Redact(logging.Filter):
    def filter(self, record):
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


class _Once(logging.Filter):
    """librdkafka repeats a failing connection's log line every second; show each kind once."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record):
        key = re.sub(r"\d+", "#", record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


class _ClientLogFilter(logging.Filter):
    """At default verbosity, drop the connection-failure lines our error callback already explains,
    and the transient ones librdkafka recovers from by itself (they end in "retrying")."""

    def filter(self, record):
        message = record.getMessage()
        return not (message.startswith(("FAIL ", "ERROR ")) or message.rstrip().endswith("retrying"))


def setup_logging(prog, verbosity, quiet):
    """The script's logger (status on stderr) and the one librdkafka's lines are routed through."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prog}: %(message)s"))
    handler.addFilter(_Redact())
    log = logging.getLogger(prog)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.ERROR if quiet else logging.INFO if verbosity else logging.WARNING)
    client_log = logging.getLogger(f"{prog}.librdkafka")
    client_log.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity else logging.WARNING)
    if verbosity == 0:
        client_log.addFilter(_ClientLogFilter())
        client_log.addFilter(_Once())
    return log, client_log


def client_settings_for_verbosity(config, verbosity):
    if verbosity >= 2:
        config.set_default("debug", "broker,topic,msg,protocol,security")


# -- progress -----------------------------------------------------------------------
class Progress:
    """A single self-updating stderr line, only where a person watches a non-terminal data stream."""

    def __init__(self, enabled, noun):
        self.enabled = enabled
        self.noun = noun
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, count):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        self.last = now
        rate = count / max(now - self.start, 1e-9)
        sys.stderr.write(f"\r{count:,} {self.noun}  {rate:,.0f}/s ")
        sys.stderr.flush()
        self.shown = True

    def clear(self):
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


def progress_wanted(data_stream, quiet):
    return not quiet and sys.stderr.isatty() and not data_stream.isatty()


# -- shared click options ----------------------------------------------------------
def common_options(f):
    """CONFIG_FILE, -t, -X, -q, -v: what both scripts take."""
    decorators = [
        click.argument("config_file", type=click.Path(exists=True, dir_okay=False)),
        click.option("-X", "--property", "properties", multiple=True, metavar="KEY=VALUE",
                     help="Any librdkafka property; overrides the config file. Repeatable."),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option("-v", "--verbose", count=True,
                     help="More status on stderr; -vv adds librdkafka's debug log."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f
