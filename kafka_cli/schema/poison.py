"""Why a payload does not fit its schema, in words about its bytes: "ends after 3 of 5 fields of its Avro record
(at field 'email', byte 12: a string of 20 bytes, 3 left)", "has a bad varint at byte 12", "is a Protobuf message
truncated at byte 9 (...)", "is not valid JSON at byte 4: expecting value". The libraries say only what Python
met ("IndexError: string index out of range", "Wire format was corrupt"); these walks read the bytes again, in
Python, to say where and what. They run on the failure path alone: a payload that decodes never meets them.

Each reason is a predicate, read after "the value" (or "the key"); every byte position counts from the start
of the stored bytes (`start`: where the payload begins in them, 5 after Confluent's header). A walk that finds
no fault returns None, and the caller says what little it knows. fastavro's logical-type readers and protobuf's
descriptors are imported where a walk needs them; the bounds on nesting and on items that take no bytes are those
the decoders keep (docs/security.md)."""

import functools


class _Fault(Exception):
    """The walk stopped: str() is the reason."""


class _Walk:
    """What the Avro and Protobuf walks share: the bytes, where the walk is, where the payload starts in the
    stored bytes, and the path of fields being read (for the words)."""

    def __init__(self, data, start, max_depth):
        self.data, self.at, self.start, self.max_depth = data, 0, start, max_depth
        self.path = []  # field names, [i] for items, [key] for map values
        self.item_at = 0  # where the value now being read starts

    def byte(self, at=None):
        return self.start + (self.item_at if at is None else at)

    def where(self):
        """' in field 'a.b[2]'', or '' at the top of the payload."""
        return f" in field '{self.shown_path()}'" if self.path else ""

    def shown_path(self):
        text = ""
        for part in self.path:
            text += part if part.startswith("[") or not text else "." + part
        return _short(text, 80)

    def varint(self, end):
        """An unsigned varint (Protobuf's; Avro's zigzag is on top of it): a _Fault when the bytes end inside
        it or it runs past 10 bytes."""
        value = shift = 0
        start = self.at
        while True:
            if self.at >= end:
                self.item_at = start
                raise self.truncated("inside a number")
            if shift > 63:
                raise _Fault(f"has a bad varint at byte {self.byte(start)}{self.where()} (longer than 10 bytes)")
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def take(self, size, what, end=None):
        end = len(self.data) if end is None else end
        if size > end - self.at:
            raise self.truncated(f"{what} of {size:,} bytes, {end - self.at:,} left")
        self.at += size
        return self.data[self.at - size:self.at]

    def utf8(self, raw, what):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _Fault(f"has {what} that is not UTF-8 at byte {self.byte()}{self.where()} (byte "
                         f"0x{raw[e.start]:02x} at byte {self.byte(self.at - len(raw) + e.start)})") from None

    def truncated(self, detail):
        raise NotImplementedError


# -- Avro -----------------------------------------------------------------------------------------------
class AvroWalk(_Walk):
    """A failed Avro payload read again value by value: the first fault in it, said in words."""

    def __init__(self, named, data, start=0, bounds=(100, 100_000)):
        super().__init__(data, start, bounds[0])
        self.named, self.max_empty = named, bounds[1]
        self.empty_items = 0
        self.top = None  # [fields read, fields] of the outermost record, once the walk is in it

    def explain(self, schema):
        """The reason the payload does not fit `schema` (fastavro's parsed schema), or None if the walk finds
        none (the bytes fit; what failed was not in them)."""
        try:
            self._value(schema, 0)
        except _Fault as fault:
            return str(fault)
        except RecursionError:
            return f"nests deeper than this tool reads{self.where()}"
        left = len(self.data) - self.at
        if left:
            return (f"has {left:,} byte{'s' if left > 1 else ''} left over after its Avro record (from byte "
                    f"{self.byte(self.at)})")
        return None

    def truncated(self, detail):
        where = f"at field '{self.shown_path()}', " if self.path else "at "
        if self.top is None:
            return _Fault(f"ends early ({where}byte {self.byte()}: {detail})")
        done, total = self.top
        return _Fault(f"ends after {done} of {total} fields of its Avro record ({where}byte {self.byte()}: "
                      f"{detail})")

    def _long(self):
        self.item_at = self.at
        value = self.varint(len(self.data))
        return (value >> 1) ^ -(value & 1)

    def _resolve(self, schema):
        for _ in range(100):  # a name may stand for a name: never round a circle for ever
            if isinstance(schema, str) and schema in self.named:
                schema = self.named[schema]
            elif isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)):
                schema = schema["type"]
            elif isinstance(schema, dict) and schema.get("type") in self.named:
                schema = self.named[schema["type"]]
            else:
                return schema
        raise _Fault("has a schema whose names stand for each other without end")

    def _value(self, schema, depth):
        schema = self._resolve(schema)
        if isinstance(schema, list):
            return self._value(schema[self._choice(len(schema), "union branch", "a union of")], depth)
        kind = schema.get("type") if isinstance(schema, dict) else schema
        self.item_at = self.at
        if kind in _SIZED:
            return self.take(*_SIZED[kind])
        if kind in ("int", "long"):
            return self._logical(schema, kind, self._long())
        if kind in ("string", "bytes"):
            return self._text(schema, kind)
        if kind == "fixed":
            return self.take(schema["size"], "a fixed value")
        if kind == "enum":
            return self._choice(len(schema["symbols"]), "enum symbol", "an enum of")
        if depth >= self.max_depth:
            raise _Fault(f"nests deeper than {self.max_depth} records, arrays and maps at byte {self.byte()}"
                         f"{self.where()}: this tool reads no deeper")
        if kind in ("record", "error"):
            return self._record(schema, depth + 1)
        if kind in ("array", "map"):
            return self._blocks(schema, kind, depth + 1)
        if kind != "null":
            raise _Fault(f"has a type this tool does not read{self.where()}")

    def _choice(self, count, what, of):
        index = self._long()
        if not 0 <= index < count:
            raise _Fault(f"has {what} {index} at byte {self.byte()}{self.where()}, of {of} {count}")
        return index

    def _text(self, schema, kind):
        size = self._long()
        if size < 0:
            raise _Fault(f"has a negative length ({size:,}) at byte {self.byte()}{self.where()}")
        raw = self.take(size, f"a {kind}")
        if kind == "string":
            self._logical(schema, kind, self.utf8(raw, "a string"))

    def _logical(self, schema, kind, value):
        """A value fastavro turns into a date, a time, a UUID...: one it cannot turn is a fault here too."""
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if logical is None:
            return
        reader = _logical_readers().get(f"{kind}-{logical}")
        try:
            if reader is not None:
                reader(value, schema)
        except Exception:  # each of them: OverflowError, ValueError... the words below say what it is
            raise _Fault(f"has a value at byte {self.byte()}{self.where()} that its logical type {_short(logical, 40)} "
                         f"cannot hold ({_short(value, 40)})") from None

    def _record(self, schema, depth):
        fields = schema.get("fields", [])
        outermost = self.top is None
        if outermost:
            self.top = [0, len(fields)]
        for field in fields:
            self.path.append(_short(field.get("name"), 60))
            self._value(field["type"], depth)
            self.path.pop()
            if outermost:
                self.top[0] += 1

    def _blocks(self, schema, kind, depth):
        items = schema["items"] if kind == "array" else schema["values"]
        number = 0
        while True:
            count = self._long()
            if count == 0:
                return
            if count < 0:  # a block that says its size in bytes too
                count = -count
                self._long()
            for _ in range(count):
                self.path.append(f"[{number}]")
                if kind == "map":
                    self.path[-1] = f"[{self._map_key()!r}]"
                before = self.at
                self._value(items, depth)
                self.path.pop()
                number += 1
                if self.at == before:
                    self._count_empty(count)
                    break  # every item of this block is the same nothing: counted at once

    def _map_key(self):
        size = self._long()
        if size < 0:
            raise _Fault(f"has a negative length ({size:,}) at byte {self.byte()}{self.where()}")
        return _short(self.utf8(self.take(size, "a map key"), "a map key"), 40)

    def _count_empty(self, count):
        """An item of the block took no bytes, so its type holds nothing that takes one (no number, length or
        union branch): nor does any other item of the block."""
        self.empty_items += count
        if self.empty_items > self.max_empty:
            raise _Fault(f"has more than {self.max_empty:,} array items that take no bytes{self.where()}: this "
                         "tool reads no more")


_SIZED = {"boolean": (1, "a boolean"), "float": (4, "a float"), "double": (8, "a double")}


@functools.lru_cache(maxsize=1)
def _logical_readers():
    """fastavro's own readers of logical types ("int-date" -> the function that makes a date of the int), the
    Python twins of its compiled ones: what they refuse, its reader refused. {} if a fastavro moves them."""
    try:
        from fastavro._logical_readers_py import LOGICAL_READERS
    except ImportError:
        return {}
    return LOGICAL_READERS


# -- Protobuf -------------------------------------------------------------------------------------------
VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = range(6)


class ProtobufWalk(_Walk):
    """A failed Protobuf message read again field by field, guided by its descriptor where a field is known:
    the first fault in it, said in words."""

    def explain(self, descriptor):
        try:
            self._message(descriptor, len(self.data), 0, None)
        except _Fault as fault:
            return str(fault)
        except RecursionError:
            return f"nests deeper than this tool reads{self.where()}"
        return None

    def truncated(self, detail):
        where = f" in field '{self.shown_path()}'" if self.path else ""
        return _Fault(f"is a Protobuf message truncated at byte {self.byte()}{where} ({detail})")

    def _message(self, descriptor, end, depth, group):
        if depth > self.max_depth:
            raise _Fault(f"nests deeper than {self.max_depth} messages at byte {self.byte()}{self.where()}")
        while self.at < end:
            self.item_at = self.at
            tag = self.varint(end)
            number, wire = tag >> 3, tag & 7
            self._tag_problem(tag, number, wire)
            if wire == END_GROUP:
                if group == number:
                    return
                raise _Fault(f"has the end of group {number} at byte {self.byte()}{self.where()}, where no such "
                             "group began")
            field = descriptor.fields_by_number.get(number) if descriptor is not None else None
            self.path.append(_short(field.name, 60) if field is not None else str(number))
            self._field(field, (number, wire), end, depth)
            self.path.pop()
        if group is not None:
            self.item_at = self.at
            raise self.truncated(f"group {group} never ends")

    def _tag_problem(self, tag, number, wire):
        if tag > 0xFFFFFFFF:
            raise _Fault(f"has a field tag of more than 32 bits at byte {self.byte()}{self.where()}")
        if number == 0:
            raise _Fault(f"has field number 0 at byte {self.byte()}{self.where()}, which Protobuf does not have")
        if wire > FIXED32:
            raise _Fault(f"has wire type {wire} at byte {self.byte()}{self.where()} (field {number}), which "
                         "Protobuf does not have")

    def _field(self, field, tag, end, depth):
        number, wire = tag
        self.item_at = self.at
        if wire == VARINT:
            self.varint(end)
        elif wire in (FIXED64, FIXED32):
            self.take(8 if wire == FIXED64 else 4, f"a fixed {'64' if wire == FIXED64 else '32'}-bit value", end)
        elif wire == START_GROUP:
            group = field.message_type if field is not None and field.message_type is not None else None
            self._message(group, end, depth + 1, number)
        else:
            size = self.varint(end)
            self.item_at = self.at
            if size > end - self.at:
                raise self.truncated(f"it says {size:,} bytes, {end - self.at:,} are left")
            self._length_delimited(field, self.at + size, depth)

    def _length_delimited(self, field, end, depth):
        from google.protobuf.descriptor import FieldDescriptor

        kind = field.type if field is not None else None
        if kind in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            return self._message(field.message_type, end, depth + 1, None)
        if kind == FieldDescriptor.TYPE_STRING and _checks_utf8(field):
            self.at = end
            self.utf8(self.data[self.item_at:end], "a string")
        elif kind in _packed_sizes() and _repeated(field):
            size = _packed_sizes()[kind]
            while self.at < end:  # packed numbers
                self.item_at = self.at
                if size is None:
                    self.varint(end)
                else:
                    self.take(size, "a packed number", end)
        self.at = end


def _repeated(field):
    repeated = getattr(field, "is_repeated", None)  # protobuf 6 and later; `label` before
    return repeated if repeated is not None else field.label == field.LABEL_REPEATED


def _checks_utf8(field):
    """Does the protobuf library refuse bad UTF-8 in this string field (proto3, or editions' VERIFY)?"""
    try:
        return field._GetFeatures().utf8_validation == 2  # FeatureSet.VERIFY
    except Exception:  # a library without features: proto3 files check, proto2 ones do not
        return getattr(getattr(field, "file", None), "syntax", "proto3") == "proto3"


@functools.lru_cache(maxsize=1)
def _packed_sizes():
    """Protobuf's packable number types -> the bytes each takes (None: a varint)."""
    from google.protobuf.descriptor import FieldDescriptor as F

    sizes = {kind: None for kind in (F.TYPE_INT32, F.TYPE_INT64, F.TYPE_UINT32, F.TYPE_UINT64, F.TYPE_SINT32,
                                     F.TYPE_SINT64, F.TYPE_BOOL, F.TYPE_ENUM)}
    sizes.update({kind: 4 for kind in (F.TYPE_FIXED32, F.TYPE_SFIXED32, F.TYPE_FLOAT)})
    sizes.update({kind: 8 for kind in (F.TYPE_FIXED64, F.TYPE_SFIXED64, F.TYPE_DOUBLE)})
    return sizes


# -- JSON and the rest -----------------------------------------------------------------------------------
def json_problem(payload, error, start=0):
    """The reason for json.loads's or UTF-8's refusal of `payload`, in words about its bytes."""
    if isinstance(error, UnicodeDecodeError):
        return (f"is not UTF-8 text, as JSON is: byte 0x{payload[error.start]:02x} at byte {start + error.start} "
                f"({_short(error.reason, 60)})")
    position = getattr(error, "pos", None)
    doc = getattr(error, "doc", None)
    message = getattr(error, "msg", None)
    if isinstance(position, int) and isinstance(doc, str) and isinstance(message, str):
        at = start + len(doc[:position].encode("utf-8", "surrogatepass"))
        message = message.removesuffix(" at").removesuffix(" starting")  # "Unterminated string starting at"
        return f"is not valid JSON at byte {at}: {message[:1].lower()}{message[1:]}"
    if "digits" in str(error):  # Python's cap on the digits of an integer it parses (4,300 by default)
        return "has a number of more digits than this tool reads"
    return "is not valid JSON"


def _short(value, limit):
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "..."
