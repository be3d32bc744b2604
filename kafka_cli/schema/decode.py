"""Reading schema'd keys and values: Confluent's wire format (byte 0 = 0, bytes 1-4 = the schema id, big-endian)
recognised on its own, the schema fetched once per id from the registry, the payload decoded to plain data.

Decoder(source, fmt).decode(bytes) -> Decoded, or None when the bytes are to be shown as they are; it raises
SchemaUnavailable (the schema can't be had: no registry, down, 401, unknown id) or BadPayload (the bytes do not
fit their schema: a poison message). Nothing here prints; the caller warns.
"""

import struct
import threading
import time
from dataclasses import dataclass

from kafka_cli.core.escaping import shown
from kafka_cli.config.registry import DEFAULT_TIMEOUT
from kafka_cli.core.words import NO_REGISTRY
from kafka_cli.schema.codecs import BadPayload, BadSchema, make_codec
from kafka_cli.schema.wire import AS_STORED, HEADER, MAGIC, SCHEMA_FORMATS, split_wire


class SchemaUnavailable(Exception):
    """The schema of an id cannot be had; str() is the reason, one line. `retry_at`: the time.monotonic() from
    which the id is worth asking for again (the registry gave no answer), or None (it never is: a 404, a bad
    schema). Until then the same object is raised for the id, so a caller can tell it once."""

    def __init__(self, schema_id, reason, retry_at=None):
        super().__init__(reason)
        self.schema_id = schema_id
        self.retry_at = retry_at


@dataclass(frozen=True)
class Decoded:
    value: object  # plain data: dict, list, str, numbers, None
    schema_id: int = None  # None for integer / double
    subject: str = None  # where the registry says (None if it does not)
    kind: str = None  # AVRO, JSON, PROTOBUF


@dataclass
class Loaded:
    codec: object
    subject: str




WAIT_SLICE = 0.1  # the main thread waits for a fetch in slices this short, so a signal's handler runs at once


def cool_down(timeout):
    """Seconds during which no new schema id is asked of a registry that just gave no answer: it is most likely
    still down, and asking costs a whole timeout per id. At least 30 s, and three timeouts, so that however
    long the timeout, at most a quarter of a run waits on a registry that is down."""
    return max(30.0, 3 * timeout)


class SchemaSource:
    """Schemas by id from the registry (settings None: no registry), each fetched once; a failure is remembered
    too. The fetch of one id (connect, every byte, every retry, its references, its subject) takes no longer
    than the registry's `timeout` in all; after a registry gave no answer, other ids fail at once for a
    cool-down, and then are asked once more, so a registry that is down costs one timeout, not one per id."""

    def __init__(self, settings, client=None):
        self.settings = settings
        self._client = client
        self._loaded = {}  # id -> Loaded or SchemaUnavailable
        self._silent = None  # (when, schema id, until): the registry's last no-answer and its cool-down's end
        self._skip_subjects_until = 0.0  # the subject lookup ran out of time: not asked during a cool-down

    @property
    def client(self):
        if self._client is None:
            from kafka_cli.schema.registry import make_client

            self._client = make_client(self.settings)
        return self._client

    def load(self, schema_id):
        found = self._loaded.get(schema_id)
        if found is None or (isinstance(found, SchemaUnavailable) and found.retry_at is not None
                             and time.monotonic() >= found.retry_at):
            found = self._loaded[schema_id] = self._fetch(schema_id)
        if isinstance(found, SchemaUnavailable):
            raise found
        return found

    def _fetch(self, schema_id):
        if self.settings is None:
            return SchemaUnavailable(schema_id, NO_REGISTRY)
        from kafka_cli.schema.registry import is_transport_failure, where

        started = time.monotonic()
        if self._silent is not None and started < self._silent[2]:
            when, silent_id, until = self._silent
            return SchemaUnavailable(schema_id, f"the Schema Registry at {where(self.settings)} did not answer for "
                                                f"schema id {silent_id} {started - when:.0f} s ago; not asked again "
                                                f"for {until - started:.0f} s", until)
        try:
            self.client  # made here, not in a thread: settings it refuses are one reason like any other
        except Exception as e:
            return SchemaUnavailable(schema_id, self._why(e, schema_id))
        timeout = self.settings.conf.get("timeout") or DEFAULT_TIMEOUT
        fetch = _Fetch(self, schema_id, started + timeout, skip_subject=started < self._skip_subjects_until)
        fetch.wait()
        spent = time.monotonic() - started
        if fetch.found is None:
            error = fetch.error
            if error is None or is_transport_failure(error):  # no answer (in time): the registry goes quiet
                until = time.monotonic() + cool_down(timeout)
                self._silent = (time.monotonic(), schema_id, until)
                reason = (self._why(error, schema_id, spent) if error is not None else
                          f"the Schema Registry at {where(self.settings)} did not answer within {spent:.3g} s")
                return SchemaUnavailable(schema_id, reason, until)
            return SchemaUnavailable(schema_id, self._why(error, schema_id, spent))
        schema, references = fetch.found
        if fetch.subject_unanswered:  # the schema came, its subject not in time: shown without, not asked a while
            self._skip_subjects_until = time.monotonic() + cool_down(timeout)
        try:
            return Loaded(make_codec(schema, references), fetch.subject)
        except BadSchema as e:
            return SchemaUnavailable(schema_id, f"schema id {schema_id}: {shown(str(e))}")

    def _why(self, error, schema_id, spent=None):
        from kafka_cli.schema.registry import describe_failure, is_not_found, not_in_registry

        if is_not_found(error):
            return not_in_registry(f"schema id {schema_id}", self.settings)
        return describe_failure(error, self.settings, spent)

    def references(self, schema, seen=None):
        """[(name, Schema)] of every schema `schema` references, each one's own references before it."""
        seen = set() if seen is None else seen
        found = []
        for ref in schema.references or []:
            if (ref.subject, ref.version) in seen:
                continue
            seen.add((ref.subject, ref.version))
            registered = self.client.get_version(ref.subject, ref.version)
            found += self.references(registered.schema, seen) + [(ref.name, registered.schema)]
        return found

    def _subject(self, schema_id):
        """The first subject the registry names for the id, or None."""
        versions = self.client.get_schema_versions(schema_id)
        return versions[0].subject if versions else None


class _Fetch:
    """One schema id fetched in a daemon thread while the main thread waits, up to a deadline: past it, the
    thread is left to itself (its registry calls end at the same deadline, so it stops soon after) and the
    main thread goes on. The main thread never blocks in a socket, so Ctrl-C and other signals act at once."""

    def __init__(self, source, schema_id, at, skip_subject):
        self.source, self.schema_id, self.at, self.skip_subject = source, schema_id, at, skip_subject
        self.found = None  # (Schema, references) once both are in
        self.subject = None
        self.subject_answered = skip_subject  # by a subject or an answer that there is none
        self.error = None  # the Exception the fetch ended with
        self._ended = threading.Event()

    @property
    def subject_unanswered(self):
        return self.found is not None and not self.subject_answered

    def wait(self):
        threading.Thread(target=self._run, name=f"schema-id-{self.schema_id}", daemon=True).start()
        while not self._ended.is_set():
            left = self.at - time.monotonic()
            if left <= 0:
                return
            self._ended.wait(min(WAIT_SLICE, left))

    def _run(self):
        from kafka_cli.schema.registry import deadline, is_transport_failure

        source = self.source
        try:
            with deadline(self.at):
                schema = source.client.get_schema(self.schema_id)
                self.found = schema, source.references(schema)
                if not self.skip_subject:
                    try:
                        self.subject = source._subject(self.schema_id)
                        self.subject_answered = True
                    except Exception as e:  # not every registry answers this: the schema is shown without
                        self.subject_answered = not is_transport_failure(e)
        except Exception as e:  # SchemaRegistryError, httpx's transport errors, the size cap, the deadline
            self.error = e
        finally:
            self._ended.set()


class Decoder:
    """One side's reading (key or value) under --key-format / --value-format."""

    def __init__(self, source, fmt="auto", side="value"):
        self.source, self.fmt, self.side = source, fmt, side
        self.wanted = SCHEMA_FORMATS.get(fmt)  # a schema type the bytes must have, or None

    def decode(self, data):
        if data is None or self.fmt in AS_STORED:
            return None
        if self.fmt in ("integer", "double"):
            return Decoded(_big_endian_number(data, self.fmt))
        framed = split_wire(data)
        if framed is None:
            if self.wanted:
                raise BadPayload(_not_framed(data, self.fmt, self.side))
            return None
        schema_id, payload = framed
        loaded = self.source.load(schema_id)
        kind = loaded.codec.kind
        if self.wanted and kind != self.wanted:
            raise BadPayload(f"names schema id {schema_id}, which is {kind}, not {self.wanted} as asked")
        return Decoded(loaded.codec.decode(payload, HEADER), schema_id, loaded.subject, kind)


def _not_framed(data, fmt, side):
    """Why bytes a forced schema format reads are not in Confluent's wire format, in words about them."""
    needs = f"as --{side}-format {fmt} needs"
    if len(data) < HEADER and (not data or data[0] == MAGIC):
        return (f"is {len(data)} byte{'' if len(data) == 1 else 's'}, shorter than the {HEADER}-byte Confluent "
                f"header (magic byte 0, schema id) {needs}")
    return f"starts with byte 0x{data[0]:02x}, not Confluent's magic byte 0 (then the schema id), {needs}"


def _big_endian_number(data, fmt):
    """Kafka's IntegerSerializer / LongSerializer / DoubleSerializer bytes (big-endian) as a number."""
    layouts = {"integer": {4: ">i", 8: ">q", 2: ">h"}, "double": {8: ">d", 4: ">f"}}[fmt]
    if len(data) not in layouts:
        sizes = " or ".join(map(str, sorted(layouts)))
        raise BadPayload(f"is {len(data)} byte{'' if len(data) == 1 else 's'}, not a big-endian {fmt} ({sizes} "
                         "bytes)")
    return struct.unpack(layouts[len(data)], data)[0]


__all__ = ["BadPayload", "Decoded", "Decoder", "SchemaSource", "SchemaUnavailable"]
