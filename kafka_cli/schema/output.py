"""consumer.py's schema step: between the poll and the output format, each message's key and value go through
their Decoder (schema_decode.py); a message with anything decoded is shown with the decoded JSON in place of its
bytes, all others exactly as before. It wraps the format's batch renderer, so formats.py knows nothing of it.

    text, verbose, -F   the decoded JSON (compact) where the bytes would be; a poison message's bytes behind
                        a "!poison! " mark
    -f json             "value": the decoded object, "value_schema_id": N, "value_subject": S (where known),
                        "value_raw": {"base64": the bytes as stored}, so producer.py -f json copies it exactly;
                        a poison message or an unknown schema keeps its bytes as "value" and says why in
                        "value_error"   (the same for the key, with key_)

A schema named in a __value_schema_id / __key_schema_id header (Confluent's header framing: a GUID, or a schema
id) is read before the payload's own framing, as Confluent's deserializers read it: "value_schema_guid" then
stands where "value_schema_id" would.
"""

import base64
import json
import math
import re
import uuid

from kafka_cli.core.errors import ConfigError
from kafka_cli.core.escaping import json_safe
from kafka_cli.core.words import needs_registry, shown_as_stored
from kafka_cli.consume.formats import Lines, headers_of, json_text, place
from kafka_cli.schema.decode import BadPayload, Decoder, SchemaSource, SchemaUnavailable
from kafka_cli.schema.wire import (AS_STORED, HEADER, SCHEMA_FORMATS, SCHEMA_ID_HEADERS, BadHeader, header_schema_id,
                                   is_framed, split_wire)

POISON_MARK = b"!poison! "


def to_json(value):
    """Decoded data as compact JSON text: bytes (Avro bytes/fixed) as Avro's JSON encoding does (one character
    per byte), dates and decimals as strings, NaN and infinities as strings (JSON has none)."""
    try:
        return _ENCODE(value)
    except ValueError:  # a NaN or infinity somewhere: rare, so only then walk the data
        return json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), default=_default)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8(json_text):
    """JSON text as UTF-8 bytes. A decoded string can hold a lone surrogate (JSON's \\ud800 escape makes one),
    which UTF-8 cannot: it can only stand in a JSON string, so it is written as that escape again."""
    try:
        return json_text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), json_text).encode("utf-8")


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _default(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal, UUID


def _encoder():
    """value -> compact JSON text, no ASCII escaping, NaN refused. json.dumps with options builds an encoder on
    every call, and JSONEncoder.encode still builds its C encoder on every call: together over a third of the
    cost of a 100-byte record. So the C encoder is built once here (the json module's own, with no check for
    circular data: decoded data has none); where Python has no C accelerator, the pure encoder."""
    from json import encoder

    if encoder.c_make_encoder is None:
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default, allow_nan=False).encode
    make = encoder.c_make_encoder(None, _default, encoder.encode_basestring, None, ":", ",", False, False, False)
    return lambda value: "".join(make(value, 0))


_ENCODE = _encoder()


class Side:
    """What became of one key or value: decoded (a Decoded), or a problem (one line), or neither (as stored)."""

    __slots__ = ("decoded", "problem", "schema_id")

    def __init__(self, decoded=None, problem=None, schema_id=None):
        self.decoded, self.problem, self.schema_id = decoded, problem, schema_id


class SchemaView:
    """Wraps a batch renderer (a formats.FORMATS renderer) with the decoding of keys and values."""

    def __init__(self, key_decoder, value_decoder, output_format, warn):
        self.decoders = {"key": key_decoder, "value": value_decoder}
        self.json_output = output_format == "json"
        self.verbose = output_format == "verbose"  # shows the stored bytes beside the decoded JSON
        self.warn = warn
        self._told = set()  # (side, schema id) whose unavailable schema was reported: once each

    def wrap(self, render_batch):
        if self.json_output:
            return self._wrap_json(render_batch)
        key_to_show, value_to_show = self._shower("key"), self._shower("value")

        def render(batch):
            # The shown bytes go into the messages themselves (Message.set_key/set_value, C calls): the format's
            # renderer then runs as it is, with no wrapper object per message. Nothing reads a message's stored
            # bytes after it is rendered; the offsets it leaves to store are its own.
            for msg in batch:
                if msg.error() is None:
                    if key_to_show is not None:
                        key = msg.key()
                        shown = key_to_show(msg, key)
                        if shown is not key:
                            msg.set_key(shown)
                    if value_to_show is not None:
                        value = msg.value()
                        shown = value_to_show(msg, value)
                        if shown is not value:
                            msg.set_value(shown)
            return render_batch(batch)
        return render

    def _shower(self, side):
        """side's bytes -> the bytes to show (the same object when shown as stored), or None when this side is
        never decoded. Once a schema id has decoded, the next payloads of that id take a short way: a
        5-byte header looked up, the codec, the JSON text; anything unusual goes the long way (which warns)."""
        decoder = self.decoders[side]
        if decoder is None or decoder.fmt in AS_STORED:
            return None
        framed_only = decoder.fmt not in ("integer", "double")  # the others read only Confluent's wire format
        plain_as_stored = decoder.fmt == "auto"
        known = {}  # 5-byte header -> data -> shown bytes

        def to_show(msg, data):
            if data is None:
                return data
            if framed_only:
                headers = headers_of(msg)  # None for a message without headers: one C call, no list
                key = data[:HEADER] if headers is None else _short_key(headers, data, side)
                fast = known.get(key)
                if fast is not None:
                    try:
                        return fast(data)
                    except BadPayload:
                        pass  # the long way, which marks it and warns
                elif plain_as_stored and key.__class__ is bytes and not is_framed(data):
                    return data
            looked = self._side(msg, side)
            if looked is not None and looked.decoded is not None and framed_only:
                self._learn(known, side, looked.decoded, msg, data)
            return _to_show(msg, side, looked, self.verbose)
        return to_show

    def _learn(self, known, side, decoded, msg, data):
        """Teach `known` the short way for what `decoded` came from: its 5-byte header (the payload named the
        schema id), or the value of the header that named it (Confluent's header framing)."""
        decoder = self.decoders[side]
        if decoded.in_header:
            headers = headers_of(msg)
            key = _short_key(headers, data, side)
            if key is not None:  # None: several headers (alike), which always go the long way
                known[key] = self._fast(decoded, decoder.header_reader(header_schema_id(headers, side))[1], 0)
        elif decoded.schema_id is not None:
            known[data[:HEADER]] = self._fast(decoded, decoder.source.load(decoded.schema_id).codec.decode, HEADER)

    def _fast(self, decoded, decode, skip):
        """data -> shown bytes for a schema that has decoded once (its codec, kind and subject known); `decode`
        reads what follows the first `skip` bytes of the data."""
        verbose = self.verbose
        if verbose:
            subject = f" {decoded.subject}" if decoded.subject else ""
            label = f"  [{decoded.kind} schema {_named(decoded)}{subject}; stored: ".encode()

        def fast(data):
            shown = _utf8(to_json(decode(data[skip:])))
            if verbose:
                shown += label + base64.b64encode(data) + b"]"
            return shown
        return fast

    def _wrap_json(self, render_batch):
        """-f json: a key or value to nest is swapped for a token (a plain ASCII string, unique to the run and the
        line) before the format renders the batch; in the format's line the token's JSON string is then replaced
        by the nested object and its fields (schema id, subject, the stored bytes), so every other field stays
        the format's own text. Once a schema id has decoded, its next payloads take the short way, as in text."""
        sides = [side for side in ("key", "value")
                 if self.decoders[side] is not None and self.decoders[side].fmt not in AS_STORED]
        known = {side: {} for side in sides}  # 5-byte header -> data -> the JSON that takes the token's place
        nonce = uuid.uuid4().hex.encode()

        def render(batch):
            swapped, line = {}, -1  # line number -> [(token's JSON string, its replacement)]
            for msg in batch:
                if msg.error() is None:
                    line += 1
                    swaps = self._short_way(msg, sides, known)
                    if swaps is None:
                        swaps = self._long_way(msg, sides, known)
                    if swaps:
                        swapped[line] = [(_swap_in(msg, side, b"%s-%s-%d" % (nonce, side[0].encode(), line)), text)
                                         for side, text in swaps]
            if not swapped:
                return render_batch(batch)  # nothing schema'd: the format as it was
            lines = render_batch(batch).data.split(b"\n")[:-1]
            for number, swaps in swapped.items():
                for token, text in swaps:
                    lines[number] = lines[number].replace(token, text, 1)
            return Lines.of([text + b"\n" for text in lines])
        return render

    def _short_way(self, msg, sides, known):
        """[(side, JSON)] when every side of `msg` is plain or of a schema id that decoded before (and decodes
        again); None when one needs the long way. Nothing is changed in `msg` here."""
        swaps = []
        headers = headers_of(msg)
        for side in sides:
            data = msg.key() if side == "key" else msg.value()
            if data is None:
                continue
            key = data[:HEADER] if headers is None else _short_key(headers, data, side)
            fast = known[side].get(key)
            if fast is None:
                if self.decoders[side].fmt == "auto" and key.__class__ is bytes and not is_framed(data):
                    continue  # not the wire format: as stored
                return None
            try:
                swaps.append((side, fast(data)))
            except BadPayload:
                return None
        return swaps

    def _long_way(self, msg, sides, known):
        """[(side, JSON)] through the decoders, which warn where due; a schema id that decodes is learnt."""
        swaps = []
        for side, looked in zip(("key", "value"), self.look(msg)):
            if looked is None:
                continue
            data = msg.key() if side == "key" else msg.value()
            if looked.decoded is not None:
                decoded = looked.decoded
                self._learn_json(known[side], side, decoded, msg)
                swaps.append((side, _json(decoded.value) + _nested_fields(side, decoded.guid or decoded.schema_id,
                                                                          decoded.subject) + _raw_field(side, data)))
            else:  # a problem: the bytes as the format shows them, the schema id where known, and why
                swaps.append((side, json_text(data).encode("utf-8", "surrogateescape")
                              + _nested_fields(side, looked.schema_id, None)
                              + b',"%s_error":%s' % (side.encode(), _json(looked.problem))))
        return swaps

    def _learn_json(self, known, side, decoded, msg):
        """As _learn, for -f json: the short way makes the JSON that takes the token's place."""
        data = msg.key() if side == "key" else msg.value()
        fields = _nested_fields(side, decoded.guid or decoded.schema_id, decoded.subject)
        decoder = self.decoders[side]
        if decoded.in_header:
            headers = headers_of(msg)
            key = _short_key(headers, data, side)
            if key is not None:  # None: several headers (alike), which always go the long way
                decode = decoder.header_reader(header_schema_id(headers, side))[1]
                known[key] = lambda data: _json(decode(data)) + fields + _raw_field(side, data)
        elif decoded.schema_id is not None:
            decode = decoder.source.load(decoded.schema_id).codec.decode
            known[data[:HEADER]] = lambda data: _json(decode(data[HEADER:])) + fields + _raw_field(side, data)

    def look(self, msg):
        """(key Side or None, value Side or None): None where the bytes are shown as stored without a word."""
        return tuple(self._side(msg, side) for side in ("key", "value"))

    def _side(self, msg, side):
        decoder = self.decoders[side]
        if decoder is None:
            return None
        data = getattr(msg, side)()
        try:
            decoded = decoder.decode(data, headers_of(msg))
        except SchemaUnavailable as e:
            if (side, e.schema_id) not in self._told:
                self._told.add((side, e.schema_id))
                self.warn(f"{place(msg)}: the {side} schema ({_id_words(e.schema_id)}) cannot be had: {e}; "
                          + _as_stored(side, e.schema_id))
            return Side(problem=str(e), schema_id=e.schema_id)
        except BadPayload as e:
            said = f"the {side} {_predicate(str(e))}"
            self.warn(f"{place(msg)}: poison message: {said}")
            return Side(problem=f"poison: {said}", schema_id=_schema_id(data, headers_of(msg), side))
        return None if decoded is None else Side(decoded)


def _short_key(headers, data, side):
    """What the short way knows a key or value by: ("header", its value) when a schema-id header names its
    schema (None when several headers do: always the long way), else its first 5 bytes. A header-named schema's
    payload starts with data, so its first bytes say nothing."""
    name = SCHEMA_ID_HEADERS[side]
    found = [value for key, value in headers if key == name]
    if not found:
        return data[:HEADER]
    return ("header", found[0]) if len(found) == 1 else None


def _named(decoded):
    """The schema as -f verbose names it: its id, or "GUID ..."."""
    return f"GUID {decoded.guid}" if decoded.guid is not None else decoded.schema_id


def _id_words(schema_id):
    return f"GUID {schema_id}" if isinstance(schema_id, str) else f"id {schema_id}"


def _as_stored(side, schema_id):
    return f"{side}s with this schema GUID are shown as stored bytes" if isinstance(schema_id, str) else \
        shown_as_stored(side)


# A reason read after "the value": most say what the bytes do or have ("does not fit ...", "ends after 3 of 5
# fields ...", "has a bad varint at byte 12"), or are ("is not valid JSON at byte 4: ..."); the rest get an "is".
_VERBS = ("does ", "cannot ", "nests ", "is ", "has ", "ends ", "names ", "starts ")


def _predicate(reason):
    return reason if reason.startswith(_VERBS) else f"is {reason}"


def _json(value):
    """Decoded data (or a sentence) as JSON bytes with the format's escapes (C1, bidi, U+2028...): decoded
    strings are message data."""
    return _utf8(json_safe(to_json(value)))


def _nested_fields(side, schema_id, subject):
    """*_schema_id (or *_schema_guid: a str) and *_subject, where known."""
    if isinstance(schema_id, str):
        fields = b',"%s_schema_guid":%s' % (side.encode(), _json(schema_id))
    else:
        fields = b"" if schema_id is None else b',"%s_schema_id":%d' % (side.encode(), schema_id)
    if subject:
        fields += b',"%s_subject":%s' % (side.encode(), _json(subject))
    return fields


def _raw_field(side, data):
    """The stored bytes, which producer.py -f json writes back as they are (the lossless copy)."""
    return b',"%s_raw":{"base64":"%s"}' % (side.encode(), base64.b64encode(data))


def _swap_in(msg, side, token):
    """Put `token` in the message's side; its JSON string, as the format will write it."""
    (msg.set_key if side == "key" else msg.set_value)(token)
    return b'"%s"' % token


def _to_show(msg, side_name, side, verbose):
    """The bytes shown for one side of `msg` (the long way): as stored, marked poison, or its decoded JSON."""
    data = getattr(msg, side_name)()
    if side is None or (side.decoded is None and not side.problem.startswith("poison")):
        return data
    if side.decoded is None:
        return POISON_MARK + data
    decoded = side.decoded
    shown = _utf8(to_json(decoded.value))
    if verbose and (decoded.schema_id is not None or decoded.guid is not None):
        subject = f" {decoded.subject}" if decoded.subject else ""
        shown += (f"  [{decoded.kind} schema {_named(decoded)}{subject}; stored: "
                  f"{base64.b64encode(data).decode('ascii')}]").encode()
    return shown


def _schema_id(data, headers, side):
    """The schema id (or GUID) poison bytes name, in a header or the payload, or None: a forced format
    (--value-format avro) or a number's size refuses bytes that are not in the wire format too."""
    try:
        named = header_schema_id(headers, side)
    except BadHeader:
        return None
    if named is not None:
        return named.key
    framed = split_wire(data)
    return framed[0] if framed else None


def schema_view(config, key_format, value_format, output_format, warn):
    """The SchemaView for a consumer run, or None when nothing is to be decoded (no registry, and no format
    asked for): then not even this module's imports are paid for beyond this call."""
    registry = getattr(config, "registry", None)
    formats = {"key": key_format or "auto", "value": value_format or "auto"}
    if registry is None and all(f == "auto" for f in formats.values()):
        return None
    for side, fmt in formats.items():
        if fmt in SCHEMA_FORMATS and registry is None:
            raise ConfigError(needs_registry(f"--{side}-format {fmt}", config.path))
    source = SchemaSource(registry)
    return SchemaView(Decoder(source, formats["key"], "key"), Decoder(source, formats["value"]), output_format, warn)

