"""Schema Registry settings in the INI file: Confluent Cloud's snippet pasted into [default]
(schema.registry.url, basic.auth.credentials.source, basic.auth.user.info) or a [schema_registry] section with
SchemaRegistryClient's own names (url, basic.auth.user.info, ssl.ca.location, ...).

config.py reads them like every other property (line numbers, placeholders, ${ENV}, secrets told to the Redactor)
and stores the [schema_registry] ones under the schema.registry. prefix; `take_registry_settings` then takes them all
out of the client config, because librdkafka refuses properties it does not know.
"""

import re
from dataclasses import dataclass, field

from kafka_cli.core.errors import ConfigError
from kafka_cli.core.words import REGISTRY_URL_SETTING, one_line

REGISTRY_SECTION = "schema_registry"
PREFIX = "schema.registry."
# Confluent Cloud's snippet names these without the prefix, beside the Kafka properties
BARE_KEYS = ("basic.auth.credentials.source", "basic.auth.user.info")
# SchemaRegistryClient's names we pass on; the rest of its settings (OAuth, proxies) are not offered yet
CLIENT_KEYS = ("url", "basic.auth.user.info", "ssl.ca.location", "ssl.certificate.location", "ssl.key.location",
               "ssl.key.password", "timeout")
# Seconds: the bound on all one schema id may take a consumer (schema_decode.SchemaSource: connect, every byte,
# every retry, references, subject), and each HTTP read's timeout; a registry that stops answering must not
# hang a run
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 300.0


@dataclass
class RegistrySettings:
    """What SchemaRegistryClient needs, and where each value came from (for error messages)."""

    conf: dict = field(default_factory=dict)
    origins: dict = field(default_factory=dict)

    @property
    def url(self):
        return self.conf["url"]

    def client_conf(self):
        """SchemaRegistryClient's config: the settings, a timeout on every read and one retry at most, after a
        short wait (0.2 s at first): a refused connection or a 503 is asked once more well within the timeout,
        while a registry that does not answer uses the whole timeout on the first try (SchemaSource's deadline
        ends the fetch there, retry or not)."""
        return {**self.conf, "max.retries": 1, "retries.wait.ms": 200, "retries.max.wait.ms": 1000}

    def user(self):
        """The user name of basic auth (an API key on Confluent Cloud), which errors may name; never the secret."""
        info = self.conf.get("basic.auth.user.info")
        return info.split(":", 1)[0] if info else None


def is_registry_key(name):
    return name.startswith(PREFIX) or name in BARE_KEYS


def section_key(key):
    """A [schema_registry] key as config.py stores it, so it cannot be mistaken for a librdkafka property."""
    return key if key.startswith(PREFIX) else PREFIX + key


def take_registry_settings(config):
    """Remove every registry property from `config` (a ClientConfig) and return them checked, or None when no
    registry is configured. Raises ConfigError naming the file, line and property."""
    taken = {name: config.settings.pop(name) for name in [n for n in config.settings if is_registry_key(n)]}
    if not taken:
        return None
    settings = RegistrySettings()
    source = taken.pop("basic.auth.credentials.source", None) or taken.pop(PREFIX + "basic.auth.credentials.source", None)
    for name, setting in taken.items():
        key = name.removeprefix(PREFIX)
        if key not in CLIENT_KEYS:
            raise ConfigError(f"{setting.origin} {name}: not a Schema Registry setting this tool knows "
                              f"(known: {', '.join(CLIENT_KEYS)}, basic.auth.credentials.source)")
        settings.conf[key] = setting.value
        settings.origins[key] = f"{setting.origin} {name}"
    _check(settings, source, config.path)
    return settings


def _check(settings, source, path):
    if "url" not in settings.conf:
        raise ConfigError(f"{path}: Schema Registry settings without its address: set {REGISTRY_URL_SETTING}")
    # Credentials first: every later message may echo the URL, and a user:password@ in it must never be shown.
    if "@" in settings.url:
        raise ConfigError(f"{settings.origins['url']}: holds credentials in the URL; put them in "
                          "basic.auth.user.info instead (a secret, kept out of every output)")
    for url in settings.url.split(","):
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url.strip()):
            raise ConfigError(f"{settings.origins['url']}: {one_line(without_userinfo(url), 80)!r} is not an "
                              "http:// or https:// URL")
    if source is not None and source.value.strip().upper() == "URL":
        raise ConfigError(f"{source.origin} basic.auth.credentials.source: URL takes the credentials from the URL, "
                          "which this tool refuses (they would show wherever the URL is named); use USER_INFO with "
                          "basic.auth.user.info=KEY:SECRET")
    if source is not None and source.value.strip().upper() != "USER_INFO":
        raise ConfigError(f"{source.origin} basic.auth.credentials.source: {one_line(source.value, 40)!r} is not "
                          "supported; use USER_INFO with basic.auth.user.info=KEY:SECRET")
    info = settings.conf.get("basic.auth.user.info")
    if source is not None and source.value.strip().upper() == "USER_INFO" and info is None:
        raise ConfigError(f"{source.origin} basic.auth.credentials.source: is USER_INFO but basic.auth.user.info "
                          "is not set; set it to KEY:SECRET")
    if info is not None and ":" not in info:  # the value is secret: only its shape may be told
        raise ConfigError(f"{settings.origins['basic.auth.user.info']}: must be KEY:SECRET (the value is secret, "
                          "so it is not shown)")
    settings.conf["timeout"] = _timeout(settings)


def without_userinfo(url):
    """`url` (one URL or a comma list, well formed or not) fit to echo: every user:password@ taken out. Where a
    userinfo's extent is unclear (a password holding '/', ',' or '@', a missing or mistyped scheme), everything
    from just after the first scheme:// (or from the start) to the last '@' goes: a message may lose some of
    the address, never show a secret."""
    url = str(url)
    at = url.rfind("@")
    if at < 0:
        return url
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url)
    keep = scheme.end() if scheme and scheme.end() <= url.find("@") else 0
    return url[:keep] + url[at + 1:]


def _timeout(settings):
    raw = settings.conf.get("timeout")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_TIMEOUT:
        raise ConfigError(f"{settings.origins['timeout']}: {one_line(raw, 20)!r} is not a number of seconds "
                          f"between 0 and {MAX_TIMEOUT:.0f}")
    return seconds
