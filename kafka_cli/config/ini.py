"""The INI config file: read it safely, merge [default] with the script's section and -X overrides,
expand ${ENV} references, and refuse what cannot work (placeholders, no bootstrap.servers).

Config in, ClientConfig out: nothing here talks to a broker, so all of it is testable without one.
Every error names the file, line, section and property; secret values are told to the Redactor.
"""

import codecs
import difflib
import os
import re
import stat
from dataclasses import dataclass, field

from kafka_cli.core.boundary import c_string_problem
from kafka_cli.core.errors import ConfigError
from kafka_cli.config.launcher import launcher_dir
from kafka_cli.config.registry import REGISTRY_SECTION, section_key, take_registry_settings
from kafka_cli.core.secrets import Redactor, is_secret_property
from kafka_cli.core.words import one_line

DEFAULT_TOPIC = "topic_0"
MAX_CONFIG_BYTES = 1024 * 1024
SECTIONS = ("default", "consumer", "producer", REGISTRY_SECTION)

_ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")
# as in config.ini.example: <API KEY>; Confluent Cloud's registry snippet: <SR API KEY>:<SR API SECRET>; its
# templated snippets: {{ CLUSTER_API_KEY }}, {{ SR_API_KEY }}:{{ SR_API_SECRET }}
_ONE_PLACEHOLDER = r"(?:<[A-Z][A-Z0-9 _-]*>|\{\{ *[A-Za-z][A-Za-z0-9 _.-]*\}\})"
_PLACEHOLDER = re.compile(f"{_ONE_PLACEHOLDER}(?::{_ONE_PLACEHOLDER})?")


def _placeholder_source(raw):
    return "config.ini.example" if raw.startswith("<") else "Confluent Cloud's client snippet"


@dataclass
class Setting:
    value: str
    origin: str  # where a person finds it: "config.ini line 4 [default]" or "-X acks=1"


@dataclass
class ClientConfig:
    path: str
    settings: dict = field(default_factory=dict)  # property -> Setting
    secret_in_file: bool = False  # a credential written in the file itself, not via ${ENV}
    registry: object = None  # RegistrySettings when a Schema Registry is configured (kept apart from librdkafka's)
    warnings: list = field(default_factory=list)
    launcher: str = None  # the state directory of the local Kafka that wrote the file (config/launcher.py), or None

    def as_dict(self):
        return {k: s.value for k, s in self.settings.items()}

    def get(self, name, default=None):
        s = self.settings.get(name)
        return s.value if s else default

    def origin(self, name):
        s = self.settings.get(name)
        return s.origin if s else f"{self.path} (not set)"

    def set(self, name, value, origin):
        self.settings[name] = Setting(value, origin)

    def set_default(self, name, value):
        if name not in self.settings:
            self.settings[name] = Setting(value, "built-in default")


class Bootstrap(str):
    """-b HOST:PORT given in place of CONFIG_FILE: load_config() makes the config of it and -X alone. As a str it is
    "-b", how the messages that name a config file ("check bootstrap.servers (...) in -b") name where it came from."""

    def __new__(cls, servers):
        self = super().__new__(cls, "-b")
        self.servers = servers
        return self


def parse_ini(text, path):
    """{section: {key: (value, line number)}} from INI text; keys before any header go to [default]."""
    sections = {}
    current = "default"
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = _section_header(line, path, lineno, sections)
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path} line {lineno}: expected 'property=value', got {malformed(line)!r}")
        key = key.strip()
        if not key:
            raise ConfigError(f"{path} line {lineno}: a value without a property name")
        entries = sections.setdefault(current, {})
        if key in entries:
            raise ConfigError(f"{path} line {lineno} [{current}]: {key} is set twice "
                              f"(also on line {entries[key][1]})")
        entries[key] = (value.strip(), lineno)
    return sections


def _section_header(line, path, lineno, sections):
    if not line.endswith("]") or len(line) < 3:
        raise ConfigError(f"{path} line {lineno}: malformed section header {one_line(line, 60)!r}")
    name = line[1:-1].strip()
    if name in sections:
        raise ConfigError(f"{path} line {lineno}: section [{name}] appears twice")
    sections[name] = {}
    return name


def malformed(text):
    """A line or -X that is not KEY=VALUE, as an error may show it: a typo such as 'sasl.password:hunter2'
    must not print the password, so only its first word is shown when that names a secret."""
    first_word = re.split(r"[\s:]", text.strip(), 1)[0]
    return f"{first_word} ..." if is_secret_property(first_word) or is_secret_property(text) else one_line(text, 60)


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
    # A secret that is more than one whole ${NAME} may be a password that happens to hold "${": an error
    # about it must show no part of it.
    hide = secret and not _ENV_REFERENCE.fullmatch(value.strip())

    def substitute(match):
        name = match.group(1)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            shown = "a ${...}" if secret else f"${{{name}}}"
            raise ConfigError(f"{where}: {shown} is not a valid environment variable reference")
        if name not in os.environ and hide:
            raise ConfigError(f"{where}: holds a ${{...}} that names no set environment variable (the value is "
                              "secret, so it is not shown); if the password itself holds \"${\", put it in an environment variable "
                              "and write ${NAME} here")
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set (referenced as ${{{name}}})")
        return os.environ[name]

    return _ENV_REFERENCE.sub(substitute, value)


def load_config(path, role, properties=(), redactor=None):
    """Read `path`, merge [default] with [role], apply -X KEY=VALUE overrides; expand ${ENV};
    reject placeholders and a missing bootstrap.servers. Secret values are told to `redactor`. `path` may be a
    Bootstrap (-b) instead: see from_command_line."""
    redactor = redactor if redactor is not None else Redactor()
    if isinstance(path, Bootstrap):
        return from_command_line(path, properties, redactor)
    text = read_config_text(path)
    sections = parse_ini(text, path)
    config = ClientConfig(path)
    placeholders = []
    for section in ("default", role, REGISTRY_SECTION):
        for key, (raw, lineno) in sections.get(section, {}).items():
            key = section_key(key) if section == REGISTRY_SECTION else key
            where = f"{path} line {lineno} [{section}] {key}"
            secret = is_secret_property(key)
            if _PLACEHOLDER.fullmatch(raw):
                placeholders.append((where, raw))
                continue
            value = _expand_env(raw, where, secret)
            if secret:
                redactor.remember(value)
                config.secret_in_file = config.secret_in_file or (value == raw and bool(value))
            check_c_string(where, key, value)  # ${ENV} may bring a byte that is not UTF-8
            config.set(key, value, f"{path} line {lineno} [{section}]")
    if len(placeholders) == 1:
        raise ConfigError(f"{placeholders[0][0]}: still holds the placeholder {placeholders[0][1]} from "
                          f"{_placeholder_source(placeholders[0][1])}; fill in the real value")
    if placeholders:  # all at once: a user filling in the example should not need one try per line
        sources = sorted({_placeholder_source(raw) for _, raw in placeholders})
        raise ConfigError(f"{path}: {len(placeholders)} properties still hold placeholders from {' and '.join(sources)}; "
                          "fill in the real values: "
                          + "; ".join(f"{where.removeprefix(path + ' ')} {raw}" for where, raw in placeholders))
    unread = sorted(set(sections) - set(SECTIONS))
    for section in unread:
        config.warnings.append(f"{path}: section [{section}] is not read (only [default], [consumer], [producer], [schema_registry])"
                               + _did_you_mean(section))
    apply_properties(config, properties, redactor)
    config.registry = take_registry_settings(config)
    if config.registry is not None:  # the secret alone too: an error may show it without the key before it
        redactor.remember(config.registry.conf.get("basic.auth.user.info", "").partition(":")[2])
    check_bootstrap(config, unread)
    https_trust_default(config)
    config.launcher = launcher_dir(text, config.as_dict())
    return config


def from_command_line(bootstrap, properties, redactor):
    """The config of -b HOST:PORT and -X alone. A secret (-X sasl.password=...) is refused: on a command line any
    user of the machine can read it (ps, /proc), and it stays in the shell's history; it goes in a config file."""
    for item in properties:
        key = item.partition("=")[0].strip()
        if is_secret_property(key):
            raise ConfigError(f"-X {ascii(key)[1:-1]}: no secret is taken on the command line (any user of this "
                              "machine can read it there): write it in a config file, in [default] as "
                              f"{ascii(key)[1:-1]}=${{ENV_VAR}} or the value itself, and give that file in place of -b")
    config = ClientConfig(bootstrap)
    config.set("bootstrap.servers", bootstrap.servers, "-b")
    apply_properties(config, properties, redactor)
    config.registry = take_registry_settings(config)
    check_bootstrap(config, [])
    https_trust_default(config)
    return config


# Where Linux distributions keep the system's CA bundle (Debian/Ubuntu, Fedora/RHEL, Alpine and others)
SYSTEM_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


def https_trust_default(config):
    """An https token endpoint (sasl.oauthbearer.token.endpoint.url) is checked against https.ca.location. The
    confluent-kafka wheel's librdkafka looks for Red Hat's CA bundle only, so on Debian or Ubuntu every https
    token endpoint fails ("error adding trust anchors from file: /etc/pki/tls/certs/ca-bundle.crt"); unless the
    config sets https.ca.location or https.ca.pem, it gets the system's bundle found here."""
    endpoint = config.get("sasl.oauthbearer.token.endpoint.url", "")
    if not endpoint.strip().lower().startswith("https://") or config.get("https.ca.location") or config.get("https.ca.pem"):
        return
    bundle = next((path for path in SYSTEM_CA_BUNDLES if os.path.isfile(path)), None)
    if bundle is not None:
        config.set_default("https.ca.location", bundle)


def _did_you_mean(section):
    close = difflib.get_close_matches(section.lower(), SECTIONS, n=1, cutoff=0.6)
    return f"; did you mean [{close[0]}]?" if close else ""


def check_bootstrap(config, unread):
    """bootstrap.servers must be set and not empty; when it is missing, the sections not read are named, since
    a misspelled [default] is the usual reason."""
    bootstrap = config.get("bootstrap.servers")
    if bootstrap is None:
        hint = "".join(f"; section [{section}] is not read{_did_you_mean(section)}" for section in unread)
        raise ConfigError(f"{config.path}: bootstrap.servers is not set in [default]; it is the cluster's "
                          f"host:port{hint}")
    if not bootstrap.strip():
        raise ConfigError(f"{config.origin('bootstrap.servers')} bootstrap.servers: is empty; "
                          "it is the cluster's host:port")


def apply_properties(config, properties, redactor=None):
    """-X KEY=VALUE options, each overriding the file."""
    redactor = redactor if redactor is not None else Redactor()
    for item in properties:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            shown = f"{key.strip()}=..." if sep and is_secret_property(key) else malformed(item)
            raise ConfigError(f"-X {ascii(shown)[1:-1]!r}: expected KEY=VALUE")
        key = key.strip()
        if is_secret_property(key):
            redactor.remember(value)
        check_c_string(f"-X {ascii(key)[1:-1]}", key, value)
        config.set(key, value, f"-X {key}")


def check_c_string(where, key, value):
    """librdkafka takes every property as C strings: a NUL or a byte that is not UTF-8 (from a command line
    or an environment variable) would crash or cut it, so refuse it here, naming the property, not the value."""
    for what, text in (("the property name", key), ("the value", value)):
        problem = c_string_problem(text)
        if problem is not None:
            raise ConfigError(f"{where}: {what} {problem}")


def file_warnings(config):
    """What a person should fix about the config file even though it works: sections nobody reads,
    a password others can read, a file others can change (they could point bootstrap.servers at their
    own host and collect the password), and TLS verification turned off."""
    warnings = list(config.warnings)
    try:
        mode = None if isinstance(config.path, Bootstrap) else os.stat(config.path).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISREG(mode):
        if config.secret_in_file and mode & 0o044:
            warnings.append(f"{config.path} holds a password and is readable by "
                            f"{'others' if mode & 0o004 else 'its group'}; fix with: chmod 600 {config.path}")
        if mode & 0o022:
            warnings.append(f"{config.path} can be changed by {'others' if mode & 0o002 else 'its group'}, who could "
                            f"send your credentials to a broker of theirs; fix with: chmod go-w {config.path}")
    if config.get("enable.ssl.certificate.verification", "true").strip().lower() in ("false", "0"):
        warnings.append(f"{config.origin('enable.ssl.certificate.verification')}: TLS certificate verification "
                        "is off: anyone on the network path can pose as the broker and read the password")
    elif config.get("ssl.endpoint.identification.algorithm", "https").strip().lower() == "none":
        warnings.append(f"{config.origin('ssl.endpoint.identification.algorithm')}: the broker's host name is not "
                        "checked against its certificate: any certificate from the CA can pose as the broker")
    return warnings
