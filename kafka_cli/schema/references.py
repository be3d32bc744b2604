"""producer.py --key-references / --value-references FILE: the schemas a schema file references (Avro named types
of another subject, a JSON Schema $ref, a Protobuf import), read from a JSON list of {"name", "subject",
"version"} as Confluent's CLI takes it, checked here in Python (every value goes to an HTTP client), and each
version settled to a number with the registry before the schema is registered with them.

A bad file is a ConfigError naming the file and the entry; a subject or version the registry does not have is a
CliError naming them too. Both come before any line is read."""

import json
import os
import re
import stat
from dataclasses import dataclass

from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.escaping import UNSAFE_ON_TERMINAL
from kafka_cli.core.words import one_line

MAX_FILE = 1024 * 1024  # a list of references: some 10,000 entries, far more than any schema imports
MAX_VERSION = 2**31 - 1  # the registry's versions are Java ints
KEYS = ("name", "subject", "version")
# never sent: what a terminal obeys instead of showing, and lone surrogates (JSON's \ud800 has no UTF-8 form)
_UNSENDABLE = re.compile(f"[{UNSAFE_ON_TERMINAL}\ud800-\udfff]")
SHAPE = 'a JSON list of {"name": ..., "subject": ..., "version": N} objects (version left out: the latest)'


@dataclass(frozen=True)
class Entry:
    """One reference as the file gives it; version None: the subject's latest, settled by resolve()."""
    name: str
    subject: str
    version: int = None


def read_references(path, side):
    """The file's entries, every one checked; a ConfigError naming the file (and the entry) otherwise."""
    where = f"--{side}-references {path}"
    data = read_whole(path, where, MAX_FILE, "a list of references")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ConfigError(f"{where}: not JSON ({one_line(e, 120)}); it must be {SHAPE}") from None
    if not isinstance(document, list):
        raise ConfigError(f"{where}: a JSON {_kind(document)}, not {SHAPE}")
    entries = [_entry(item, f"{where}: entry {number}") for number, item in enumerate(document, 1)]
    _no_name_twice(entries, where)
    return entries


def read_whole(path, where, limit, what):
    """The bytes of the file at `path`, all of them: a file larger than `limit` is refused (a ConfigError naming
    `where`, its size and the limit), never cut, for a cut schema may still parse and be registered as the wrong
    one. The size is known before reading for a regular file; a pipe (<(...)) is read up to one byte past it."""
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            size = info.st_size if stat.S_ISREG(info.st_mode) else None
            data = f.read(limit + 1) if size is None or size <= limit else b""
    except OSError as e:
        raise ConfigError(f"{where}: cannot read it: {e.strerror or e}") from None
    if (size is not None and size > limit) or len(data) > limit:
        said = f"{max(size or 0, len(data)):,} bytes" if size is not None else f"more than {limit:,} bytes"
        raise ConfigError(f"{where}: {said}, larger than {limit // 1024 // 1024} MiB ({limit:,} bytes), the most "
                          f"{what} may be: refused, not cut")
    return data


def _entry(item, where):
    if not isinstance(item, dict):
        raise ConfigError(f"{where} is a JSON {_kind(item)}, not an object with name, subject and version")
    unknown = [key for key in item if key not in KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key {_as_json(unknown[0])} (a reference has name, subject, version)")
    name, subject = (_text(item, key, where) for key in ("name", "subject"))
    version = item.get("version")
    if "version" in item and (type(version) is not int or not 1 <= version <= MAX_VERSION):
        raise ConfigError(f"{where}: \"version\" must be a version number of subject {subject} (1, 2, ...), not "
                          f"{_as_json(version)}; leave it out for the subject's latest version")
    return Entry(name, subject, version)


def _text(item, key, where):
    value = item.get(key)
    if key not in item:
        raise ConfigError(f"{where}: \"{key}\" is missing (a reference has name, subject and, if not the latest, "
                          "version)")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: \"{key}\" must be a non-empty string, not {_as_json(value)}")
    if _UNSENDABLE.search(value) or (key == "subject" and value.strip(".") == ""):
        raise ConfigError(f"{where}: \"{key}\" {_as_json(value)} {UNSENDABLE}")
    return value


UNSENDABLE = ("holds characters that cannot be sent to the Schema Registry (control or invisible characters, lone "
              "surrogates; a subject of dots)")


def sendable_subject(subject):
    """None for a subject the registry can be asked about (--{side}-subject NAME), else what is wrong with it."""
    if not subject.strip():
        return "must not be empty"
    if _UNSENDABLE.search(subject) or subject.strip(".") == "":
        return f"{_as_json(subject)} {UNSENDABLE}"
    return None


def _no_name_twice(entries, where):
    seen = {}
    for number, entry in enumerate(entries, 1):
        if entry.name in seen:
            raise ConfigError(f"{where}: entry {number} names {_as_json(entry.name)} again (entry {seen[entry.name]} "
                              "did): each import or type name can be one reference only")
        seen[entry.name] = number


def _kind(value):
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _as_json(value):
    """A value of the file in an error: as JSON, ASCII only (nothing in it reaches the terminal raw), cut short."""
    return one_line(json.dumps(value, ensure_ascii=True), 80)


def resolve(client, entries, choice, registry):
    """[SchemaReference] of `entries`, each version a number: the subject's latest where the file gives none. A
    subject or version the registry does not have (or any refusal) is a CliError naming the file and entry."""
    from confluent_kafka.schema_registry import SchemaReference

    from kafka_cli.schema.registry import refusal, where as registry_at

    references = []
    for number, entry in enumerate(entries, 1):
        what = f"subject {entry.subject}" + (f" version {entry.version}" if entry.version else "")
        where = f"--{choice.side}-references {choice.references_file}: entry {number} ({entry.name})"
        try:
            found = (client.get_latest_version(entry.subject) if entry.version is None
                     else client.get_version(entry.subject, entry.version))
        except Exception as e:  # SchemaRegistryError, transport errors
            raise CliError(f"{where}: {refusal(e, what, registry)}") from None
        if type(found.version) is not int:
            raise CliError(f"{where}: the Schema Registry at {registry_at(registry)} gave no version number for {what}")
        references.append(SchemaReference(entry.name, entry.subject, found.version))
    return references

