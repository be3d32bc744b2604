"""Talking to the Schema Registry: confluent-kafka's SchemaRegistryClient made from the config's RegistrySettings
(a timeout on every call), and its failures as one sentence that names the registry and never the secret.

Imported only when a registry is configured or a schema format is asked for: a plain run never loads httpx."""

from .errors import ConfigError


def make_client(settings):
    """A SchemaRegistryClient for `settings` (registry_config.RegistrySettings)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    try:
        return SchemaRegistryClient(settings.client_conf())
    except (ValueError, TypeError) as e:  # its own checks (ssl.key.location without a certificate, ...)
        raise ConfigError(f"Schema Registry settings ({settings.origins.get('url', 'the config')}): {e}") from None


def describe_failure(error, settings):
    """What went wrong talking to the registry, in one line: refused credentials, an unknown id or subject, or
    no answer (down, timeout, TLS)."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    where = settings.url
    if isinstance(error, SchemaRegistryError):
        status, code, text = error.http_status_code, error.error_code, _one_line(error.error_message)
        if status == 401:
            user = settings.user()
            who = f"user '{user}'" if user else "no credentials (basic.auth.user.info is not set)"
            return f"the Schema Registry at {where} refused {who}: HTTP 401 (check basic.auth.user.info)"
        if status == 403:
            return f"the Schema Registry at {where} does not allow user '{settings.user()}' this: HTTP 403"
        return f"the Schema Registry at {where} answered HTTP {status} (error {code}): {text}"
    name = type(error).__name__
    if "Timeout" in name:
        return f"the Schema Registry at {where} did not answer within {settings.conf['timeout']:g} s"
    if "Connect" in name or isinstance(error, OSError):
        return f"the Schema Registry at {where} cannot be reached: {_one_line(str(error)) or name}"
    return f"the Schema Registry at {where} failed: {name}: {_one_line(str(error))}"


def is_not_found(error):
    """True for the registry's 'no such schema id / subject / version' answers (HTTP 404)."""
    return getattr(error, "http_status_code", None) == 404


def _one_line(text, limit=200):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."
