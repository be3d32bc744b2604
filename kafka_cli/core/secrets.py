"""Which librdkafka properties hold secrets, and the Redactor that keeps their values out of every output.

A script creates one Redactor in main() and hands it to the config loader (which tells it the values)
and to logging (which filters every line through it); `Redactor.guard()` cleans error messages on their
way out of the command.
"""

import contextlib
import re

import click

# The properties librdkafka itself marks sensitive (_RK_SENSITIVE in rdkafka_conf.c) whose value is a secret,
# plus the Java client's sasl.jaas.config, which people paste with a password in it. Two sensitive ones are
# left out on purpose: sasl.username (on Confluent Cloud the API key, which the error messages name so a
# person can tell which key failed) and ssl.key.location (a path, not the key).
SECRET_PROPERTIES = frozenset({
    "sasl.password", "sasl.oauthbearer.config", "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.client.credentials.client.secret",
    "sasl.oauthbearer.assertion.private.key.passphrase", "sasl.oauthbearer.assertion.private.key.pem",
    "ssl.key.password", "ssl.key.pem", "ssl_key", "ssl.keystore.password", "ssl.ca.pem", "sasl.jaas.config",
    "basic.auth.user.info",  # Schema Registry KEY:SECRET (Confluent Cloud's snippet); key and secret both hidden
})
# ... and by shape, for anything librdkafka adds later or a client plugin takes
# (paths such as ssl.key.location or ...private.key.file are not secrets; the files they name are)
_SECRET_SHAPE = re.compile(r"(password|passphrase|secret|jaas|\.pem$|(^|\.)token$)", re.I)
# A JSON Web Token (an OAuth access token: base64url header "{"..., payload, signature), wherever it turns up: no
# property holds one, but a log line or an answer quoted in an error might. Its header always starts with eyJ.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


def is_secret_property(name):
    name = name.strip().removeprefix("schema.registry.")  # [schema_registry] keys are stored with the prefix
    return name in SECRET_PROPERTIES or bool(_SECRET_SHAPE.search(name))


class Redactor:
    """Replaces every remembered secret value, and anything shaped like a JSON Web Token, by *** in any text."""

    MIN_LENGTH = 3  # shorter values would mask ordinary words

    def __init__(self):
        self._secrets = set()

    def remember(self, value):
        if value and len(value) >= self.MIN_LENGTH:
            self._secrets.add(value)

    def __call__(self, text):
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return JWT.sub("***", text) if "eyJ" in text else text

    @contextlib.contextmanager
    def guard(self):
        """Errors leaving the block (click prints them) lose every secret they hold."""
        try:
            yield self
        except click.ClickException as e:
            e.message = self(e.message)
            raise
