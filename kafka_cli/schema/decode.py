"""Reading schema'd keys and values: Confluent's wire format (byte 0 = 0, bytes 1-4 = the schema id, big-endian)
recognised on its own, the schema fetched once per id from the registry, the payload decoded to plain data.
Confluent's header framing too: a schema named in a __value_schema_id / __key_schema_id header (a GUID, fetched
by GET /schemas/guids/{guid}) is read before the payload, which is then the encoded data alone.

Decoder(source, fmt, side).decode(bytes, headers) -> Decoded, or None when the bytes are to be shown as they are;
it raises SchemaUnavailable (the schema can't be had: no registry, down, 401, unknown id or GUID) or BadPayload
(the bytes do not fit their schema, or a header names none: a poison message). Nothing here prints; the caller
warns.
"""

import struct
import threading
import time
from dataclasses import dataclass

from kafka_cli.core.escaping import shown
from kafka_cli.config.registry import DEFAULT_TIMEOUT
from kafka_cli.core.words import NO_REGISTRY
from kafka_cli.schema.codecs import BadPayload, BadSchema, make_codec, read_message_indexes
from kafka_cli.schema.wire import AS_STORED, HEADER, MAGIC, SCHEMA_FORMATS, BadHeader, header_schema_id, split_wire


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
    schema_id: int = None  # None for integer / double, and for a schema named by its GUID
    subject: str = None  # where the registry says (None if it does not)
    kind: str = None  # AVRO, JSON, PROTOBUF
    guid: str = None  # the schema's GUID, when a header named it so
    in_header: bool = False  # the schema was named in a header (Confluent's header framing), not in the payload


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
        self._no_guids = None  # why the registry cannot look up schema GUIDs, once it showed it cannot

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
                                                f"{_what(silent_id)} {started - when:.0f} s ago; not asked again "
                                                f"for {until - started:.0f} s", until)
        if isinstance(schema_id, str) and self._no_guids is not None:
            return SchemaUnavailable(schema_id, self._no_guids)
        try:
            self.client  # made here, not in a thread: settings it refuses are one reason like any other
        except Exception as e:
            return SchemaUnavailable(schema_id, self._why(e, schema_id))
        timeout = self.settings.conf.get("timeout") or DEFAULT_TIMEOUT
        fetch = _Fetch(self, schema_id, started + timeout,
                       skip_subject=started < self._skip_subjects_until or isinstance(schema_id, str))
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
            return SchemaUnavailable(schema_id, f"{_what(schema_id)}: {shown(str(e))}")

    def _why(self, error, schema_id, spent=None):
        from kafka_cli.schema.registry import describe_failure, is_not_found, not_in_registry, where

        if isinstance(schema_id, str) and _guids_unserved(error):
            self._no_guids = (f"this registry cannot look up schema GUIDs (the Schema Registry at "
                              f"{where(self.settings)} answered GET /schemas/guids/{{guid}} with HTTP "
                              f"{error.http_status_code} and no Confluent error code)")
            return self._no_guids
        if is_not_found(error):
            return not_in_registry(_what(schema_id), self.settings)
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


def _what(schema_id):
    """How a message names a schema: "schema id 7", or "schema GUID ..." for a GUID (a str)."""
    return f"schema GUID {schema_id}" if isinstance(schema_id, str) else f"schema id {schema_id}"


def _guids_unserved(error):
    """Did the registry answer a GUID lookup as one that has no such path? Confluent's registry says "no such
    schema" with HTTP 404 and error code 40403; Apicurio 3.3.3 answers an empty 404 (and others 405 or 501)."""
    status, code = getattr(error, "http_status_code", None), getattr(error, "error_code", None)
    if status == 404:
        return not (isinstance(code, int) and 40400 <= code < 40500)
    return status in (405, 501)


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
                if isinstance(self.schema_id, str):  # a GUID (Confluent's header framing)
                    schema = source.client.get_schema_by_guid(self.schema_id)
                else:
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

    def decode(self, data, headers=None):
        """`data` (the key or value) decoded, or None to show it as stored; `headers`: the message's, where
        Confluent's header framing may name the schema (read before the payload, as Confluent's deserializers
        do)."""
        if data is None or self.fmt in AS_STORED:
            return None
        if self.fmt in ("integer", "double"):
            return Decoded(_big_endian_number(data, self.fmt))
        if headers:
            try:
                named = header_schema_id(headers, self.side)
            except BadHeader as e:
                raise BadPayload(str(e)) from None
            if named is not None:
                return self._by_header(named, data)
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

    def _by_header(self, named, data):
        """`data` decoded with the schema a header names: the payload is the encoded data alone (Protobuf's
        message indexes are in the header, after the GUID)."""
        loaded, decode = self.header_reader(named)
        try:
            value = decode(data)
        except BadPayload as e:
            framed = split_wire(data)
            if framed is None:
                raise
            raise BadPayload(f"{e} (its {named.name} header is read, as Confluent's deserializers read it, though "
                             f"the {self.side} also starts as the payload framing of schema id {framed[0]} does)") \
                from None
        return Decoded(value, named.schema_id, loaded.subject, loaded.codec.kind, named.guid, in_header=True)

    def header_reader(self, named):
        """(Loaded, data -> decoded data) for the schema the header `named` (a HeaderId) names; BadPayload when
        the header and the schema do not go together."""
        loaded = self.source.load(named.key)
        codec = loaded.codec
        if self.wanted and codec.kind != self.wanted:
            raise BadPayload(f"names {_what(named.key)} in its {named.name} header, which is {codec.kind}, "
                             f"not {self.wanted} as asked")
        if codec.kind == "PROTOBUF":
            indexes = _header_indexes(named)
            return loaded, lambda data: codec.decode_message(indexes, data)
        if named.rest:
            raise BadPayload(f"has {len(named.rest)} byte{'s' if len(named.rest) > 1 else ''} after the "
                             f"{_what(named.key)} in its {named.name} header, which only a Protobuf schema's message "
                             "indexes take")
        return loaded, codec.decode


def _header_indexes(named):
    """Protobuf's message indexes after the GUID or id in a header; BadPayload in words about the header."""
    if not named.rest:
        raise BadPayload(f"has no Protobuf message indexes after the {_what(named.key)} in its {named.name} "
                         "header")
    try:
        indexes, at = read_message_indexes(named.rest)
    except BadPayload as e:
        raise BadPayload(f"has a {named.name} header whose message indexes are unreadable: "
                         f"{str(e).split(': ', 1)[-1]}") from None
    if at != len(named.rest):
        extra = len(named.rest) - at
        raise BadPayload(f"has {extra} byte{'s' if extra > 1 else ''} after the message indexes in its {named.name} "
                         "header")
    return indexes


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
