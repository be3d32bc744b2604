"""Safe terminal output: escaping is complete (nothing unsafe left), reversible (so unambiguous), and JSON
stays exactly what it was apart from the new \\u escapes."""

import base64
import json
import re
from json.encoder import encode_basestring

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_NOT_AVAILABLE
from hypothesis import example, given, strategies as st

from kafka_cli.core.escaping import for_terminal, json_safe, printable
from kafka_cli.consume.formats import Style, format_json, format_verbose

from .test_consumer_output import FakeMessage, any_bytes, format_text, header_names

# Written out here from Unicode's list of format characters (category Cf), not taken from escaping.py
CF = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
      "\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
      "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")
UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{CF}]")
ESCAPE = re.compile(r"\\(\\|t|n|r|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")
SHORT = {"\\": b"\\", "t": b"\t", "n": b"\n", "r": b"\r"}


def read_back(shown):
    """The inverse of the escaping, written from its documented rules; fails on a stray backslash."""
    data, pos = bytearray(), 0
    for match in ESCAPE.finditer(shown):
        plain = shown[pos:match.start()]
        assert "\\" not in plain, f"a backslash that starts no escape in {shown!r}"
        data += plain.encode("utf-8")
        code = match.group(1)
        if code in SHORT:
            data += SHORT[code]
        elif code[0] == "x":
            data.append(int(code[1:], 16))
        else:
            data += chr(int(code[1:], 16)).encode("utf-8")
        pos = match.end()
    assert "\\" not in shown[pos:]
    return bytes(data + shown[pos:].encode("utf-8"))


# data with many of the dangerous characters, as UTF-8 and as stray bytes
nasty_text = st.text(alphabet=st.sampled_from(
    list("ab\\é€😀 \t\n\r\x1b\x07\x00\x7f\x85\x9b\u2028\u2029\u202a\u202e\u2066\u2069\u200b\ufeff\U000e0001"))
    | st.characters(), max_size=40)
nasty_bytes = (st.binary(max_size=60) | nasty_text.map(lambda s: s.encode("utf-8", "surrogatepass"))
               | st.lists(st.sampled_from([b"\x1b[2J", b"\x07", b"\x9b", b"\xc2\x9b", "\u202e".encode(), b"\\",
                                           b"\\x1b", b"\xff", b"\xe2\x80", b"ok"]), max_size=8).map(b"".join))


@given(data=nasty_bytes)
@example(data=b"\x1b[2J\x07\x9b\xc2\x9b\xe2\x80\xae")
@example(data=b"\\x9b\x9b\\\\")
def test_terminal_escaping_leaves_nothing_unsafe_and_reads_back(data):
    shown = for_terminal(data)
    text = shown.decode("utf-8")  # valid UTF-8, whatever came in
    assert not UNSAFE.search(text)
    assert read_back(text) == data


@given(data=nasty_bytes)
def test_printable_escaping_leaves_only_printable_characters_and_reads_back(data):
    shown = printable(data)
    assert shown.isprintable()
    assert read_back(shown) == data


@given(a=nasty_bytes, b=nasty_bytes)
def test_different_data_never_looks_the_same(a, b):
    if a != b:
        assert for_terminal(a) != for_terminal(b) and printable(a) != printable(b)


@pytest.mark.parametrize("data, shown", [
    (b"plain text", b"plain text"),
    ("é€😀".encode(), "é€😀".encode()),
    (b"\x1b[2J", b"\\x1b[2J"),
    (b"a\tb\nc\r", b"a\\tb\\nc\\r"),
    (b"\x07\x00\x7f", b"\\x07\\x00\\x7f"),
    ("\x9b".encode(), b"\\u009b"),    # U+009B, CSI, as UTF-8
    (b"\x9b", b"\\x9b"),              # the raw byte: not UTF-8
    ("\u202e\u2066\u2028".encode(), b"\\u202e\\u2066\\u2028"),
    (b"back\\slash", b"back\\\\slash"),
    (b"\\x1b", b"\\\\x1b"),           # the text \x1b is not ESC
])
def test_terminal_escapes(data, shown):
    assert for_terminal(data) == shown


def test_printable_escapes_more_than_the_terminal_needs():
    assert printable("\u200b\ufeff\U000e0001 \xa0".encode()) == "\\u200b\\ufeff\\U000e0001 \\u00a0"
    assert for_terminal("\u200b\xa0".encode()) == b"\\u200b" + "\xa0".encode()  # a no-break space shows


def test_every_format_character_is_escaped_on_a_terminal():
    """Every character of category Cf this Python knows is in escaping.py's list (and in CF above)."""
    import unicodedata

    from kafka_cli.core.escaping import FORMAT_CHARACTERS

    listed = re.compile(f"[{FORMAT_CHARACTERS}]")
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) == "Cf":
            assert listed.match(char) and UNSAFE.match(char), hex(code)
            assert for_terminal(char.encode()) == (b"\\u%04x" % code if code <= 0xFFFF else b"\\U%08x" % code)


LOOKALIKES = [("LRM", "\u200e"), ("RLM", "\u200f"), ("ALM", "\u061c"), ("ZWSP", "\u200b"), ("ZWNJ", "\u200c"),
              ("ZWJ", "\u200d"), ("BOM", "\ufeff"), ("LRE", "\u202a"), ("RLO", "\u202e"), ("LRI", "\u2066"),
              ("PDI", "\u2069"), ("ISS", "\u206a"), ("NODS", "\u206f"), ("WJ", "\u2060"), ("SHY", "\u00ad"),
              ("TAG A", "\U000e0041")]


@pytest.mark.parametrize("name, char", LOOKALIKES)
def test_keys_that_differ_by_an_invisible_character_look_different_in_every_format(name, char):
    """ "user" and "us<char>er" are two keys; on a terminal no format may show them the same."""
    from kafka_cli.consume.format_string import format_string

    one_by_one = {"text": format_text, "json": format_json, "verbose": format_verbose,
                  "-F": format_string("%k=%s %h\\n")}
    for label, factory in one_by_one.items():
        render = factory(TERMINAL)
        plain = render(FakeMessage(key=b"user", value=b"v", headers=[("h", b"x")]))
        tricky = render(FakeMessage(key=("us" + char + "er").encode(), value=b"v", headers=[("h", b"x")]))
        assert plain != tricky
        shown = tricky.decode("utf-8")
        assert char not in shown, label
        code = ord(char)
        escape = "\\u%04x" % code if code <= 0xFFFF else (
            "\\U%08x" % code if label != "json" else "\\u%04x\\u%04x" % (0xD800 + ((code - 0x10000) >> 10),
                                                                  0xDC00 + ((code - 0x10000) & 0x3FF)))
        assert escape in shown, (label, shown)


@pytest.mark.parametrize("name, char", LOOKALIKES)
def test_json_escapes_them_and_keeps_the_same_data(name, char):
    key = ("us" + char + "er").encode()
    for style in (Style(), TERMINAL):
        line = format_json(style)(FakeMessage(key=key, value=char.encode(), headers=[(char, char.encode())]))
        assert char.encode() not in line and line.isascii()
        record = json.loads(line)
        assert (record["key"], record["value"], record["headers"]) == (key.decode(), char, [[char, char]])


def test_text_and_format_string_to_a_pipe_stay_byte_exact():
    from kafka_cli.consume.format_string import format_string

    data = "us\u200e\u200b\ufeff\U000e0041er".encode()
    assert format_text(Style())(FakeMessage(key=data, value=data)) == data + b":" + data + b"\n"
    assert format_string("%k|%s")(Style())(FakeMessage(key=data, value=data)) == data + b"|" + data


# -- formats on a terminal -------------------------------------------------------------------
TERMINAL = Style(terminal=True)
EVIL = b"\x1b[2J\x07\x9b" + "\x9b\u202e".encode()


@pytest.mark.parametrize("factory", [format_text, format_json, format_verbose])
def test_no_format_writes_terminal_controls_from_the_data(factory):
    msg = FakeMessage(key=EVIL, value=EVIL, headers=[("h\x1b\u202e", EVIL)])
    line = factory(TERMINAL)(msg).decode("utf-8")
    assert line.endswith("\n") and line.count("\n") == 1
    assert not UNSAFE.search(line[:-1])


def test_text_on_a_terminal():
    line = format_text(Style(separator=b"\t", terminal=True))(FakeMessage(key=b"k\t1", value=EVIL))
    assert line == b"k\\t1\t\\x1b[2J\\x07\\x9b\\u009b\\u202e\n"  # the separator the user chose stays as it is


def test_text_to_a_pipe_stays_byte_exact():
    assert format_text(Style())(FakeMessage(key=EVIL, value=EVIL)) == EVIL + b":" + EVIL + b"\n"


def test_null_marker_in_text():
    render = format_text(Style(null_marker=b"<null>"))
    assert render(FakeMessage(key=None, value=b"")) == b"<null>:\n"
    assert render(FakeMessage(key=b"", value=None)) == b":<null>\n"
    assert format_text(Style(null_marker=b"~", terminal=True))(FakeMessage(key=None, value=None)) == b"~:~\n"


# -- JSON: exactly as before, plus the new escapes ------------------------------------------------
def json_before(msg):
    """format_json as it was before the safe-terminal escapes (kept here to hold the output to it)."""
    def text(data):
        if data is None:
            return "null"
        try:
            return encode_basestring(data.decode("utf-8"))
        except UnicodeDecodeError:
            return '{"base64":"%s"}' % base64.b64encode(data).decode("ascii")
    ts_type, ts = msg.timestamp()
    headers = msg.headers()
    header_text = ("[" + ",".join("[%s,%s]" % (encode_basestring(name), text(value))
                                  for name, value in headers) + "]") if headers else "[]"
    return ('{"topic":%s,"partition":%d,"offset":%d,"timestamp":%s,"key":%s,"value":%s,"headers":%s}\n' % (
        encode_basestring(msg.topic()), msg.partition(), msg.offset(), ts if ts_type else "null",
        text(msg.key()), text(msg.value()), header_text)).encode("utf-8", "surrogateescape")


def with_new_escapes(line):
    def escape(match):
        units = match.group().encode("utf-16-be")  # one UTF-16 code unit, or a surrogate pair, as JSON writes them
        return "".join("\\u" + units[i:i + 2].hex() for i in range(0, len(units), 2))
    return re.sub(f"[\x7f-\x9f\u2028\u2029{CF}]", escape, line.decode("utf-8")).encode("utf-8")


@given(key=any_bytes | nasty_bytes, value=any_bytes | nasty_bytes,
       headers=st.none() | st.lists(st.tuples(header_names, any_bytes), max_size=4))
@example(key="\x7f\x85\u2028".encode(), value="\u202e\u2069".encode(), headers=[("\u2066", b"\xc2\x9b")])
def test_json_is_the_same_bytes_as_before_but_for_the_new_escapes(key, value, headers):
    msg = FakeMessage(key=key, value=value, headers=headers)
    for style in (Style(), TERMINAL):
        line = format_json(style)(msg)
        assert line == with_new_escapes(json_before(msg))
        record = json.loads(line)
        assert (record["key"], record["value"]) == (json.loads(json_before(msg))["key"],
                                                      json.loads(json_before(msg))["value"])
        assert not UNSAFE.search(line.decode("utf-8")[:-1])


def test_json_safe_only_touches_the_listed_characters():
    assert json_safe('"\x7f\x80\x9f\xa0\u2027\u2028\u202f\u2065\u2066\u206a\u200e\U000e0041\U0001f600"') == (
        '"\\u007f\\u0080\\u009f\xa0\u2027\\u2028\u202f\u2065\\u2066\\u206a\\u200e\\udb40\\udc41\U0001f600"')


# -- poison: parts that cannot be shown, timestamps out of range ------------------------------------
class UnreadableHeaders(FakeMessage):
    """As confluent-kafka 2.16 was seen to do: the first headers() call raises; a second one returns a list holding
    a NULL, which crashes the process when touched (here: fails the test), unless set_headers() replaced it."""

    raised = False
    replaced = None

    def headers(self):
        if self.replaced is not None:
            return self.replaced
        if self.raised:
            pytest.fail("headers() called again after it raised: the real second answer crashes when touched")
        self.raised = True
        raise SystemError("<method 'headers' of 'cimpl.Message' objects> returned a result with an exception set")

    def set_headers(self, headers):
        self.replaced = headers


@pytest.mark.parametrize("factory, marked", [
    (format_json, b'"headers":{"unreadable":"a header name is not UTF-8"}}\n'),
    (format_verbose, b"  headers: (unreadable: a header name is not UTF-8)\n"),
])
def test_unreadable_header_names_mark_the_headers_and_warn_once(factory, marked):
    warnings = []
    line = factory(Style(warn=warnings.append))(UnreadableHeaders(topic="t", partition=1, offset=7))
    assert line.endswith(marked)
    assert len(warnings) == 1 and warnings[0].startswith("t [1] @ 7: a header name is not UTF-8")


def test_text_never_reads_headers():
    assert format_text(Style())(UnreadableHeaders()) == b"k:v\n"


@pytest.mark.parametrize("timestamp, shown", [
    ((TIMESTAMP_CREATE_TIME, 0), "1970-01-01T00:00:00.000Z"),
    ((TIMESTAMP_CREATE_TIME, 1), "1970-01-01T00:00:00.001Z"),
    ((TIMESTAMP_CREATE_TIME, -1), "-"),  # Kafka's "no timestamp"
    ((TIMESTAMP_NOT_AVAILABLE, -1), "-"),
    ((TIMESTAMP_CREATE_TIME, -2), "1969-12-31T23:59:59.998Z"),
    ((TIMESTAMP_CREATE_TIME, 253402300799999), "9999-12-31T23:59:59.999Z"),
    ((TIMESTAMP_CREATE_TIME, 253402300800000), "253402300800000 ms"),  # year 10000
    ((TIMESTAMP_CREATE_TIME, -62135596800000), "0001-01-01T00:00:00.000Z"),
    ((TIMESTAMP_CREATE_TIME, -62135596800001), "-62135596800001 ms"),
    ((TIMESTAMP_CREATE_TIME, 2 ** 63 - 1), f"{2 ** 63 - 1} ms"),
    ((TIMESTAMP_CREATE_TIME, -2 ** 63), f"{-2 ** 63} ms"),
])
def test_verbose_shows_any_timestamp(timestamp, shown):
    line = format_verbose(Style())(FakeMessage(timestamp=timestamp, headers=[])).decode()
    assert line == f"orders [2] @ 41  {shown}  key=k  value=v\n"


@given(ts=st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1))
def test_every_format_takes_any_timestamp(ts):
    msg = FakeMessage(timestamp=(TIMESTAMP_CREATE_TIME, ts))
    for factory in (format_text, format_json, format_verbose):
        assert factory(Style())(msg).endswith(b"\n")
    assert json.loads(format_json(Style())(msg))["timestamp"] == ts
