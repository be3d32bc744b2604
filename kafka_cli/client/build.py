"""Building a confluent-kafka client from a ClientConfig, with librdkafka's refusals of a property
told as an error that names where the property was set (file and line, or -X)."""

import re

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
