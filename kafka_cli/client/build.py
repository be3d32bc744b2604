"""Building a confluent-kafka client from a ClientConfig, with librdkafka's refusals of a property
told as an error that names where the property was set (file and line, or -X)."""

import os
import re

from kafka_cli.client.kafka_errors import launcher_hint
from kafka_cli.core.errors import ConfigError
from kafka_cli.core.secrets import is_secret_property

# read by confluent-kafka itself, not by librdkafka, so it must be a Python bool
_PYTHON_BOOL_PROPERTIES = {"delivery.report.only.error"}

# librdkafka names some properties by their canonical name when it refuses them
_ALIASES = {"request.required.acks": "acks", "queue.buffering.max.ms": "linger.ms",
            "sasl.mechanism": "sasl.mechanisms", "sasl.mechanisms": "sasl.mechanism",
            "metadata.broker.list": "bootstrap.servers"}


def build_client(client_class, config, **callbacks):
    """Consumer/Producer from the config; librdkafka's refusals become errors naming the property."""
    from confluent_kafka import KafkaException

    settings = config.as_dict()
    for name in _PYTHON_BOOL_PROPERTIES & settings.keys():
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


def explain_config_refusal(text, config):
    """librdkafka's refusal of a property, told with where the property was set."""
    missing = missing_ca(text, config)
    if missing:
        return missing
    match = re.search(r'property[:\s]+"?([A-Za-z0-9_.\-]+)"?', text)
    name = match.group(1) if match else None
    if name and name not in config.settings and _ALIASES.get(name) in config.settings:
        name = _ALIASES[name]
    reason = text.strip()
    if name and name in config.settings:
        where = config.origin(name)
        if "No such configuration property" in text:
            from kafka_cli.config.librdkafka_properties import did_you_mean

            return f"{where}: {name} is not a Kafka client property (librdkafka does not know it){did_you_mean(name)}"
        if is_secret_property(name):
            return f"{where}: {name}: invalid value"
        return f"{where}: {name}: {reason}"
    return f"{config.path}: the Kafka client refused the configuration: {reason}"


def missing_ca(text, config):
    """librdkafka's words for an ssl.ca.location it cannot read ("ssl.ca.location failed: error:05880020:x509
    certificate routines::BIO lib") name no file: when the file is not there, say so, and for a config the local
    Kafka wrote, that its directory goes when it stops. None when that is not the refusal."""
    ca = config.get("ssl.ca.location")
    if "ssl.ca.location" not in text or not ca or os.path.exists(ca):
        return None
    said = f"{config.origin('ssl.ca.location')}: ssl.ca.location: no file {ca}"
    local = launcher_hint(config, "which deletes its directory when it stops")
    return said + (f"; {local}" if local else "")
