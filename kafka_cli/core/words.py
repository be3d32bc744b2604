"""The sentences several messages share, each written once, so the same fault reads the same wherever it is met
(the producer, the consumer, the views), and `one_line`, how a text from outside (a broker's or a registry's
answer, a line of input, a value typed) is cut to fit in a message.

Each function returns the words only; the caller raises them (CliError, ConfigError) or logs them, and shown()
escapes them on the way to stderr."""

# The registry's address is set in either of two places; every message that asks for it names both.
REGISTRY_URL_SETTING = "schema.registry.url in [default] (or url in [schema_registry])"
NO_REGISTRY = "no Schema Registry is configured (schema.registry.url)"


def one_line(text, limit):
    """`text` (anything, as str) on one line: its whitespace (newlines, tabs, runs of spaces) folded to single
    spaces, and cut after `limit` characters with "..." added. Only what can be shown is folded: a registry's
    answer may be megabytes long."""
    words = str(text).split(None, limit)  # `limit` words already fill `limit` characters: more are cut anyway
    folded = " ".join(words[:limit])
    if len(words) > limit or len(folded) > limit:
        return folded[:limit] + "..."
    return folded


def no_broker_answered(span, config=None):
    """A cluster that did not answer: `span` says for how long, and for what ("within --timeout 5 s"); the
    setting to check, with its value and file from `config` (a ClientConfig; None where the caller has none)."""
    where = f" ({config.get('bootstrap.servers')}) in {config.path}" if config is not None else " in the config file"
    return f"no broker answered {span}: check bootstrap.servers{where}"


def client_named(user):
    """Who the broker refused: the SASL user (on Confluent Cloud, the API key), or this client when it has none."""
    return f"user '{user}'" if user else "this client"


def may_not(user, action, needed=None):
    """The broker's ACLs refuse `user` (sasl.username, or None) `action` ("describe group 'g'"); `needed`: the
    right it would take, when that is worth saying."""
    return f"{client_named(user)} may not {action} (the broker's ACLs{': ' + needed if needed else ''})"


def does_not_exist(what, bootstrap):
    """A topic or group (`what`: "topic 'orders'") the cluster at `bootstrap` does not have."""
    return f"{what} does not exist on {bootstrap}"


def needs_registry(what, path):
    """`what` (an option: "--value-format avro") cannot work without a Schema Registry in the config file `path`."""
    return f"{what} needs a Schema Registry: set {REGISTRY_URL_SETTING} of {path}"


def shown_as_stored(side):
    """What becomes of the keys or values (`side`) of a schema id that cannot be decoded."""
    return f"{side}s with this schema id are shown as stored bytes"


def stdout_closed(what):
    """Started with stdout closed (`>&-`): `what` ("the messages") cannot be printed."""
    return f"stdout is closed: there is nowhere to print {what} (use > FILE or > /dev/null)"


def cannot_write_stdout(reason):
    """A write to stdout that failed for another reason than a reader gone (a full disk, /dev/full)."""
    return f"cannot write to stdout: {reason}"
