"""Whether a client config was written by the project's launcher (`python -m local_kafka`), and how to copy it
again. Such a config names the ports and the password of one start, so a copy goes stale when that Kafka stops
or starts again elsewhere (a port taken by another program) or with new passwords (every start makes them);
the connection errors then add this module's hint instead of leaving the user to guess.

It is told from the config alone, since the launcher's directory is deleted when its Kafka stops: the first line
the launcher writes, or an ssl.ca.location in the launcher's state directory; and only while every bootstrap
server is on loopback, where the launcher listens."""

import os
import shlex
import tempfile
from pathlib import PurePath

# the launcher's first line (local_kafka/node_config.py write_client_config); a copy keeps it
FIRST_LINE = "# Written by local_kafka"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def default_state_dir():
    """The launcher's state directory, as local_kafka/state.py chooses it (STATE_DIR): one line, not an import,
    since the launcher is no part of the package."""
    return os.environ.get("LOCAL_KAFKA_STATE", os.path.join(tempfile.gettempdir(), f"local-kafka-{os.getuid()}"))


def launcher_dir(text, settings):
    """The state directory of the local Kafka that wrote this config (its INI `text`, its merged `settings`
    {property: value}), or None when the launcher did not write it or it no longer points at loopback."""
    servers = settings.get("bootstrap.servers", "").split(",")
    hosts = {server.strip().rsplit(":", 1)[0].strip("[]") for server in servers}
    if not hosts or not hosts <= LOOPBACK:
        return None
    ca = PurePath(settings.get("ssl.ca.location") or "")
    beside_ca = str(ca.parent.parent) if ca.parts[-2:] == ("tls", "ca.pem") else None
    if text.startswith(FIRST_LINE):  # (read_config_text took off a BOM)
        return beside_ca or default_state_dir()
    return beside_ca if beside_ca is not None and beside_ca == str(PurePath(default_state_dir())) else None


def copy_again(directory, settings, path):
    """How to get the current config of the local Kafka in `directory`: its status, and the cp that replaces `path`."""
    listener = "sasl_ssl" if settings.get("security.protocol", "").upper() == "SASL_SSL" else "plaintext"
    # a directory other than the default is the launcher's only through LOCAL_KAFKA_STATE
    default = str(PurePath(directory)) == str(PurePath(default_state_dir()))
    env = "" if default else f"LOCAL_KAFKA_STATE={shlex.quote(str(directory))} "
    return (f"run `{env}python -m local_kafka status`, or copy the config again: "
            f"cp \"$({env}python -m local_kafka config {listener})\" {shlex.quote(str(path))}")


def stale_hint(directory, settings, path, why):
    """The sentence for a config the local Kafka in `directory` wrote that no longer fits it: `why` says how."""
    return f"this config was written by the local Kafka in {directory}, {why}: {copy_again(directory, settings, path)}"
