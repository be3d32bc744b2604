"""Schema Registry settings in the INI file: Confluent Cloud's snippet pasted into [default]
(schema.registry.url, basic.auth.credentials.source, basic.auth.user.info; or, for OAuth, bearer.auth.*) or a
[schema_registry] section with SchemaRegistryClient's own names (url, basic.auth.user.info, ssl.ca.location, ...).

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
BEARER = "bearer.auth."  # OAuth (Confluent Cloud's identity pools): every bearer.auth.* key is the registry's
# OAuth's settings, with bearer.auth.credentials.source=OAUTHBEARER: those SchemaRegistryClient requires (a missing
# scope is taken as none: Keycloak and Entra ID give client-credentials tokens without one), and the optional pool
BEARER_REQUIRED = ("bearer.auth.issuer.endpoint.url", "bearer.auth.client.id", "bearer.auth.client.secret",
                   "bearer.auth.logical.cluster")
BEARER_KEYS = (*BEARER_REQUIRED, "bearer.auth.scope", "bearer.auth.identity.pool.id")
# SchemaRegistryClient's names we pass on; the rest of its settings (proxies, static tokens) are not offered yet
CLIENT_KEYS = ("url", "basic.auth.user.info", "ssl.ca.location", "ssl.certificate.location", "ssl.key.location",
               "ssl.key.password", "timeout", *BEARER_KEYS)
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

    @property
    def oauth(self):
        """True when the registry is asked with OAuth bearer tokens (bearer.auth.credentials.source=OAUTHBEARER)."""
        return self.conf.get("bearer.auth.credentials.source") == "OAUTHBEARER"


def is_registry_key(name):
    return name.startswith((PREFIX, BEARER)) or name in BARE_KEYS


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
    bearer = taken.pop(BEARER + "credentials.source", None) or taken.pop(PREFIX + BEARER + "credentials.source", None)
    for name, setting in taken.items():
        key = name.removeprefix(PREFIX)
        if key not in CLIENT_KEYS:
            raise ConfigError(f"{setting.origin} {name}: not a Schema Registry setting this tool knows "
                              f"(known: {', '.join(CLIENT_KEYS)}, basic.auth.credentials.source, "
                              "bearer.auth.credentials.source)")
        settings.conf[key] = setting.value
        settings.origins[key] = f"{setting.origin} {name}"
    _check(settings, source, config.path)
    _check_bearer(settings, bearer, config.path)
    return settings


def _check_bearer(settings, source, path):
    """OAuth for the registry: bearer.auth.credentials.source=OAUTHBEARER with its settings, or no bearer.auth.* at all."""
    given = [key for key in BEARER_KEYS if key in settings.conf]
    if source is None:
        if given:
            raise ConfigError(f"{settings.origins[given[0]]}: bearer.auth.* settings without "
                              "bearer.auth.credentials.source; set bearer.auth.credentials.source=OAUTHBEARER")
        return
    if source.value.strip().upper() != "OAUTHBEARER":
        raise ConfigError(f"{source.origin} bearer.auth.credentials.source: {one_line(source.value, 40)!r} is not "
                          "supported; use OAUTHBEARER (a client id and secret from your identity provider)")
    if "basic.auth.user.info" in settings.conf:
        raise ConfigError(f"{settings.origins['basic.auth.user.info']}: basic.auth.user.info and "
                          "bearer.auth.credentials.source are both set; keep the one your registry takes")
    missing = [key for key in BEARER_REQUIRED if not settings.conf.get(key, "").strip()]
    if missing:
        raise ConfigError(f"{source.origin} bearer.auth.credentials.source: is OAUTHBEARER but "
                          f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set in {path}")
    endpoint = settings.conf["bearer.auth.issuer.endpoint.url"].strip()
    if not re.fullmatch(r"https?://[^\s/@]+(/\S*)?", endpoint):
        raise ConfigError(f"{settings.origins['bearer.auth.issuer.endpoint.url']}: "
                          f"{one_line(without_userinfo(endpoint), 80)!r} is not an http:// or https:// URL (the "
                          "identity provider's token endpoint)")
    settings.conf["bearer.auth.credentials.source"] = "OAUTHBEARER"
    settings.conf.setdefault("bearer.auth.scope", "")


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
