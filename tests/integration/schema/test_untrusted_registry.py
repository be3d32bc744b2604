"""Registry content and message bytes are untrusted input: whatever a Schema Registry answers (schemas of any
text, references of any name, answers of any shape, answers that drip, hang, fail or never end) and whatever bytes
a topic holds, consumer.py reads the topic to its end and stops by itself, prints every message (decoded, marked
poison, or as stored), runs no program, writes no file, shows no raw control character, and stays within a time
and a memory bound.

Two parts:
  * hypothesis fuzzers against a registry the test writes (fake_registry.FakeRegistry), one per schema type and
    one for the registry's answers themselves; each example is one real consumer.py run on a fresh topic of the
    real broker, in a sandbox (its own HOME, cwd and TMPDIR, all watched for new files);
  * regressions of the breaks found before, against the real Apicurio registry: a Protobuf reference named
    "@argsfile" (protoc read arguments from that file: a plugin ran a shell) or an absolute path (a file was
    written there); an Avro linked list 20,000 deep (the C reader's recursion: SIGSEGV, and the group stuck on
    the message for ever); JSON Schema patterns that backtrack without bound (minutes at full CPU, deaf to
    SIGTERM).
"""

import base64
import dataclasses
import json
import os
import pty
import queue
import re
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty as tty_mode
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.integration.schema.conftest import write_registry_config
from tests.integration.schema.fake_registry import Bomb, Drip, Fail, FakeRegistry, Hang, Huge, Raw
from tests.integration.schema.serdes import send
from tests.integration.scripts import ROOT

# What must never reach stdout or stderr raw: C0 controls but \t and \n, DEL, and C1 (U+0080-U+009F, as the
# output decodes from UTF-8; a terminal that honours 8-bit controls obeys U+009B as CSI).
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
PEAK_MB = 500
MAX_STDERR_LINE = 4096  # a registry's text is cut short: megabytes of it never reach a terminal
FIRST, LAST = (b"k-first", b"plain-first"), (b"k-last", b"plain-last")

# Placeholders in generated registry content, filled in when an example runs (strategies are built at import,
# these only exist then): an arguments file that makes protoc run /bin/sh, a directory nothing may create, and
# the fake registry's own address (a schema that makes the consumer fetch anything from it is a server-side
# request forgery).
ARGS, ABS, SSRF = "@@ARGS@@", "@@ABS@@", "@@SSRF@@"
SSRF_PATH = "/ssrf"  # SSRF is the fake registry's URL and this: nothing the consumer asks for starts so

# 20 examples of each schema type and 16 registry answers (which may each cost a registry timeout): the file runs in
# about a minute and a half, a consumer.py run an example. Derandomized: CI sees the same examples every time.
FUZZ = settings(max_examples=20, deadline=None, derandomize=True, database=None, print_blob=False,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a process, and CI waits
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])


# -- the sandbox a run happens in, and the run ---------------------------------------------------------------
class Sandbox:
    """A directory holding the run's HOME, cwd and TMPDIR (and the config), watched whole: a name such as
    ../x.proto from the cwd lands in it too."""

    def __init__(self, root):
        self.root = Path(root)
        self.home, self.cwd, self.tmp = (self.root / name for name in ("home", "cwd", "tmp"))
        for d in (self.home, self.cwd, self.tmp):
            d.mkdir(parents=True)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "XDG_", "PYTHON"))}
        env.update(HOME=str(self.home), TMPDIR=str(self.tmp), LC_ALL="C.UTF-8")
        return env

    def files(self):
        found = set()
        for top, dirs, names in os.walk(self.root):
            found.update(os.path.join(top, n) for n in dirs + names)
        return found


@dataclass
class Run:
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    peak_mb: float
    ended_by_itself: bool


def _read_all(stream, sink):
    sink.append(stream.read())


def _read_pty(master, sink):
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every holder of the other side closed it
            break
        if not chunk:
            break
        sink.append(chunk)


def consumer_command(config, topic, *args):
    return [sys.executable, str(ROOT / "consumer.py"), str(config), "-t", topic, *map(str, args)]


def run_consumer(config, topic, *args, sandbox, bound, tty=False):
    """consumer.py in `sandbox`, stdout to a pipe (or to a terminal, a pty in raw mode, when `tty`), reaped with
    os.wait4 for its own peak memory; killed after `bound` seconds (which the test then reports)."""
    out, err = [], []
    master = slave = None
    if tty:
        master, slave = pty.openpty()
        tty_mode.setraw(slave, termios.TCSANOW)  # no \n -> \r\n: the bytes as the consumer wrote them
    started = time.monotonic()
    proc = subprocess.Popen(consumer_command(config, topic, *args), stdin=subprocess.DEVNULL,
                            stdout=slave if tty else subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=sandbox.cwd, env=sandbox.env())
    readers = [threading.Thread(target=_read_all, args=(proc.stderr, err), daemon=True)]
    if tty:
        os.close(slave)
        readers.append(threading.Thread(target=_read_pty, args=(master, out), daemon=True))
    else:
        readers.append(threading.Thread(target=_read_all, args=(proc.stdout, out), daemon=True))
    reaped = {}

    def reap():
        _, reaped["status"], reaped["usage"] = os.wait4(proc.pid, 0)
        reaped["at"] = time.monotonic()

    reaper = threading.Thread(target=reap, daemon=True)
    for thread in [*readers, reaper]:
        thread.start()
    reaper.join(bound)
    ended = not reaper.is_alive()
    if not ended:
        os.kill(proc.pid, signal.SIGKILL)  # not reaped yet, so the pid is still this process's
        reaper.join()
    proc.returncode = os.waitstatus_to_exitcode(reaped["status"])
    for thread in readers:
        thread.join(30)
        assert not thread.is_alive(), "an output of consumer.py stayed open after it ended"
    if master is not None:
        os.close(master)
    return Run(proc.returncode, b"".join(out), b"".join(err), reaped["at"] - started,
               reaped["usage"].ru_maxrss / 1024, ended)


def tail(data, size=3000):
    return data[-size:].decode("utf-8", "backslashreplace")


def assert_harmless(run, sandbox, before, bound, stdout_escaped=True):
    """The threat model's invariants for any run, whatever the registry and the topic held. `stdout_escaped`:
    stdout is -f json or a terminal (text to a pipe is the messages' bytes as stored, by design)."""
    assert run.ended_by_itself, f"consumer.py was still running after {bound} s (killed); stderr: {tail(run.stderr)}"
    assert run.returncode >= 0, f"consumer.py died of signal {-run.returncode}; stderr: {tail(run.stderr)}"
    assert run.returncode in (0, 1), f"exit {run.returncode}; stderr: {tail(run.stderr)}"
    assert b"Traceback" not in run.stderr and b"Traceback" not in run.stdout, tail(run.stderr, 6000)
    for name, data in (("stdout", run.stdout if stdout_escaped else b""), ("stderr", run.stderr)):
        raw = RAW_CONTROL.search(data.decode("utf-8", "surrogateescape"))
        assert raw is None, f"a raw {raw.group()!r} on {name}: {tail(data)!r}"
    longest = max(run.stderr.split(b"\n"), key=len)
    assert len(longest) <= MAX_STDERR_LINE, f"a stderr line of {len(longest):,} bytes: {short(longest, 400)}"
    assert sandbox.files() == before, f"new files: {sorted(sandbox.files() - before)}"
    assert run.seconds < bound
    assert run.peak_mb < PEAK_MB, f"peak memory {run.peak_mb:.0f} MB"


# -- the hostile names and payload pieces ------------------------------------------------------------------------
def varint(n):
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def zigzag(n):
    return varint(n * 2 if n >= 0 else -n * 2 - 1)


def proto_string(text):
    """`text` as a .proto string literal's inside: quotes, backslashes and controls escaped (protoc reads them
    back to the same characters)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\x%02x" % ord(char))
        else:
            out.append(char)
    return "".join(out)


# A reference's name goes wherever the codec puts it: these are what a hostile registry would choose.
HOSTILE_NAMES = [f"@{ARGS}", f"{ABS}/written.proto", "../climbed.proto", "../../climbed-twice.proto",
                 "sub/../../up.proto", "a\x1b]0;TITLE\x07.proto", "bell\x07\x1b[2J.proto", "x" * 5000 + ".proto",
                 "--plugin=protoc-gen-x=/bin/sh", "-I/", "schema", "imports.pb", "out.pb", "\u202eevil.proto",
                 "dir/\u009b31m.proto", "google/protobuf/../../../etc/passwd", "@", "-", "\x00nul.proto"]
names = st.sampled_from(HOSTILE_NAMES) | st.text(min_size=1, max_size=30).filter(lambda s: "\x00" not in s)
SUBJECTS = ["ref", "a/b", "..", "../../subjects", "\x1b[31mred\x1b[0m", "%2F%2E%2E", "x" * 3000, "spa ce",
            "\u202eevil"]
subjects = st.sampled_from(SUBJECTS)
# message text a writer chose: terminal escapes, C1, bidi overrides, line separators, anything
hostile_text = st.text(max_size=30) | st.sampled_from(["\x1b]0;TITLE\x07", "\x1b[2J\x1b[H", "\u009b31m", "a\rb",
                                                       "\u202egnp.exe", "\u2028", "\x7f", "\x00", "\t\n"])


def fill(value, places):
    """`value` (answers, nested) with every placeholder replaced by its run-time text."""
    if isinstance(value, str):
        for placeholder, text in places.items():
            value = value.replace(placeholder, text)
        return value
    if isinstance(value, bytes):
        return fill(value.decode("utf-8", "surrogateescape"), places).encode("utf-8", "surrogateescape")
    if isinstance(value, dict):
        return {fill(k, places): fill(v, places) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(fill(v, places) for v in value)
    if dataclasses.is_dataclass(value):  # Raw, Drip, Fail...: a copy, the strategies' objects are shared
        return dataclasses.replace(value, **{f.name: fill(getattr(value, f.name), places)
                                             for f in dataclasses.fields(value)})
    return value


def short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}...<{len(text)} chars>"


@dataclass
class Case:
    """One schema id of an example: what the registry answers for it, and the payloads (after the 5-byte header)
    of the messages that name it; each payload goes into a key (`in_key`) or a value."""
    answer: object
    payloads: list
    versions: dict = field(default_factory=dict)  # (subject, version text) -> answer
    subjects: object = None  # the answer of /schemas/ids/{id}/versions; None: []
    in_key: bool = False

    def __repr__(self):
        return (f"Case(answer={short(self.answer, 400)}, payloads={[short(p, 60) for p in self.payloads]}, "
                f"versions={short(self.versions, 300)}, subjects={short(self.subjects)}, in_key={self.in_key})")

    def _repr_pretty_(self, printer, cycle):  # hypothesis's report of a failing example: short too
        printer.text(repr(self))


def answer(schema, kind, references=None):
    found = {"schema": schema, "schemaType": kind}
    if kind == "AVRO":
        found.pop("schemaType")  # Confluent leaves it out for Avro
    if references is not None:
        found["references"] = references
    return found


def version_answer(subject, schema, kind, schema_id=900):
    return {"subject": subject, "version": 1, "id": schema_id, "schema": schema, "schemaType": kind}


# -- Avro -------------------------------------------------------------------------------------------------------
USER_AVRO = {"type": "record", "name": "User", "namespace": "t", "fields": [
    {"name": "name", "type": "string"}, {"name": "age", "type": "int"}, {"name": "blob", "type": "bytes"},
    {"name": "tags", "type": {"type": "map", "values": "string"}}]}
LINKED_LIST = '{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}'
TREE = ('{"type":"record","name":"T","fields":[{"name":"kids","type":{"type":"array","items":"T"}},'
        '{"name":"tags","type":{"type":"map","values":["null","string","T"]}}]}')
EMPTY_ITEMS = ['{"type":"array","items":"null"}',
               '{"type":"array","items":{"type":"record","name":"E","fields":[]}}',
               '{"type":"array","items":{"type":"fixed","name":"F","size":0}}',
               '{"type":"array","items":{"type":"array","items":"null"}}']
NO_WAY_OUT = '{"type":"record","name":"R","fields":[{"name":"r","type":"R"}]}'
LONG_TYPE_NAME = '{"type":"record","name":"A","fields":[{"name":"a","type":"' + "B" * 100000 + '"}]}'
BAD_AVRO = ["not json", '{"type":"\x1b[31mX"}', '{"type":"record","name":"\x1b]0;T\x07","fields":[]}',
            "[" * 100000, LONG_TYPE_NAME,
            '{"type":"enum","name":"E","symbols":[]}', '{"type":"fixed","name":"F","size":-1}',
            '{"type":"array","items":{"type":"array","items":' * 300 + '"int"' + "}}" * 300]


def avro_bytes(schema, record):
    import io

    import fastavro

    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


users = st.fixed_dictionaries({
    "name": hostile_text, "age": st.integers(-2**31, 2**31 - 1), "blob": st.binary(max_size=20),
    "tags": st.dictionaries(hostile_text, hostile_text, max_size=3)})


@st.composite
def mangled(draw, good):
    """`good` bytes as they are, cut short, with bytes after them, or random bytes."""
    how = draw(st.sampled_from(["as is", "as is", "cut", "extra", "random", "flipped"]))
    if how == "cut":
        return good[:draw(st.integers(0, max(0, len(good) - 1)))]
    if how == "extra":
        return good + draw(st.binary(min_size=1, max_size=8))
    if how == "random":
        return draw(st.binary(max_size=64))
    if how == "flipped" and good:
        at = draw(st.integers(0, len(good) - 1))
        return good[:at] + bytes([good[at] ^ draw(st.integers(1, 255))]) + good[at + 1:]
    return good


@st.composite
def avro_user(draw):
    good = [avro_bytes(USER_AVRO, draw(users)) for _ in range(draw(st.integers(1, 3)))]
    return Case(answer(json.dumps(USER_AVRO), "AVRO"), [draw(mangled(p)) for p in good], in_key=draw(st.booleans()))


deep_counts = st.sampled_from([0, 1, 3, 99, 100, 101, 5000, 20000])
huge_counts = st.sampled_from([1, 7, 100_000, 100_001, 10**7, 2**31, 2**40, 2**62, -1, -(2**40)])


@st.composite
def avro_risky(draw):
    schema = draw(st.sampled_from(["linked", "tree", "empty", "no way out"]))
    if schema == "linked":
        payloads = [b"\x02" * draw(deep_counts) + b"\x00" for _ in range(draw(st.integers(1, 3)))]
        return Case(answer(LINKED_LIST, "AVRO"), payloads)
    if schema == "tree":
        depth = draw(deep_counts)
        nested = b"\x02" * depth  # each level: an array of one T, then ...
        payloads = [nested + b"\x00\x00" * (depth + 1), draw(st.binary(max_size=200))]
        return Case(answer(TREE, "AVRO"), payloads)
    if schema == "empty":
        items = draw(st.sampled_from(EMPTY_ITEMS))
        payloads = [b"".join(zigzag(draw(huge_counts)) for _ in range(draw(st.integers(1, 4)))) + b"\x00"
                    for _ in range(draw(st.integers(1, 3)))]
        return Case(answer(items, "AVRO"), payloads)
    return Case(answer(NO_WAY_OUT, "AVRO"), [b"\x00" * draw(st.integers(0, 30000))])


@st.composite
def avro_with_reference(draw):
    """A record whose field's type is defined by a reference (another subject), the reference oddly named."""
    subject = draw(subjects)
    address = '{"type":"record","name":"Address","namespace":"ref","fields":[{"name":"city","type":"string"}]}'
    customer = ('{"type":"record","name":"Customer","namespace":"t","fields":[{"name":"name","type":"string"},'
                '{"name":"home","type":"ref.Address"}]}')
    good = avro_bytes(json.loads(customer.replace('"ref.Address"', address)), {"name": draw(hostile_text),
                                                                                "home": {"city": "Oslo"}})
    return Case(answer(customer, "AVRO", [{"name": draw(names), "subject": subject, "version": 1}]),
                [draw(mangled(good))], versions={(subject, "1"): version_answer(subject, address, "AVRO")})


@st.composite
def avro_bad_schema(draw):
    return Case(answer(draw(st.sampled_from(BAD_AVRO)), "AVRO"), [draw(st.binary(max_size=40))])


avro_cases = st.one_of(avro_user(), avro_risky(), avro_with_reference(), avro_bad_schema())


# -- JSON Schema --------------------------------------------------------------------------------------------------
# JSON text can hold what UTF-8 cannot: a lone surrogate, written \udXXX
json_text = hostile_text | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1,
                                   max_size=2).map(lambda s: "x" + s)
REDOS = [r"^([a-zA-Z0-9]+)*@example\.com$", r"^(a|aa)+$", r"^(x+x+)+y$", r"(\w+\s?)*$"]
REDOS_VALUES = ["a" * 40 + "!", "a" * 40 + "b", "x" * 40, "word " * 12 + "!"]
JSON_DOCUMENTS = [b"[" * 300 + b"]" * 300, b"[" * 100000 + b"]" * 100000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
                  b"1e999999", b"-1e999999", b"NaN", b"-Infinity", b"1" * 5000, b'"\\ud800"', b'"\\udc80"',
                  b'{"\\udfff":1}', b'{"s":"\\u001b]0;TITLE\\u0007"}', b'"\xff\xfe"', b"\xef\xbb\xbf{}", b"",
                  b'{"a":1,"a":2}', b"[1,2,3]", b'{"s":"ok"}', b'"' + b"\\u0000" * 1000 + b'"']


@st.composite
def json_documents(draw):
    return draw(st.sampled_from(JSON_DOCUMENTS) | st.binary(max_size=60) | st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | json_text,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_text, inner, max_size=3),
        max_leaves=8).map(lambda d: json.dumps(d).encode()))  # NaN, Infinity and \udXXX as json.dumps writes them


@st.composite
def json_patterns(draw):
    pattern = draw(st.sampled_from(REDOS))
    where = draw(st.sampled_from(["items", "properties", "patternProperties"]))
    values = draw(st.lists(st.sampled_from(REDOS_VALUES + ["ab@example.com", "aaaa"]), min_size=1, max_size=6))
    if where == "items":
        schema, document = {"type": "array", "items": {"type": "string", "pattern": pattern}}, values
    elif where == "properties":
        schema = {"type": "object", "properties": {"email": {"type": "string", "pattern": pattern}}}
        document = {"email": values[0]}
    else:
        schema = {"type": "object", "patternProperties": {pattern: {}}, "additionalProperties": False}
        document = {v: 1 for v in values}
    payloads = [json.dumps(document).encode() for _ in range(draw(st.integers(1, 3)))]
    return Case(answer(json.dumps(schema), "JSON"), payloads, in_key=draw(st.booleans()))


JSON_SCHEMAS = ['{"type":"array","items":{"$ref":"#"}}', '{"type":"object"}', "{}", "true", "false",
                '{"type":"object","properties":{"s":{"type":"string"}},"required":["s"]}',
                '{"$ref":"' + SSRF + '/ssrf.json"}', '{"$ref":"file:///etc/passwd"}',
                '{"$ref":"#/definitions/\\u001b[31m"}', '{"type":5}', '{"pattern":"("}',
                '{"type":"string","pattern":"("}', '{"type":"string","format":"regex"}', "not json", "[" * 100000,
                '{"$schema":"' + SSRF + '/meta.json","type":"object"}',
                '{"$id":"' + SSRF + '/base/","properties":{"a":{"$ref":"other.json"}}}',
                '{"allOf":[' + '{"allOf":[' * 2000 + "{}" + "]}" * 2000 + "]}",
                '{"type":"string","maxLength":' + "9" * 5000 + "}"]


@st.composite
def json_schemas(draw):
    return Case(answer(draw(st.sampled_from(JSON_SCHEMAS)), "JSON"),
                [draw(json_documents()) for _ in range(draw(st.integers(1, 3)))], in_key=draw(st.booleans()))


@st.composite
def json_with_reference(draw):
    name = draw(names | st.sampled_from([f"{SSRF}/ref.json", "file:///etc/passwd", "#"]))
    subject = draw(subjects)
    schema = json.dumps({"type": "object", "properties": {"home": {"$ref": name}}})
    referenced = draw(st.sampled_from(['{"type":"string","maxLength":5}', '{"$ref":"#"}',
                                       '{"$ref":"' + SSRF + '/next.json"}', "not json"]))
    return Case(answer(schema, "JSON", [{"name": name, "subject": subject, "version": 1}]),
                [draw(json_documents()), json.dumps({"home": draw(hostile_text)}).encode()],
                versions={(subject, "1"): version_answer(subject, referenced, "JSON")})


json_cases = st.one_of(json_patterns(), json_schemas(), json_with_reference())


# -- Protobuf ---------------------------------------------------------------------------------------------------
SIMPLE_PROTO = ('syntax = "proto3";\npackage t;\nmessage Msg {\n  string s = 1;\n  int64 n = 2;\n  bytes b = 3;\n'
                '  repeated string tags = 4;\n  map<string, string> m = 5;\n  message Inner { string x = 1; }\n'
                '  Inner inner = 6;\n}\n')
NODE_PROTO = 'syntax = "proto3";\npackage t;\nmessage Node { Node next = 1; string v = 2; }\n'
COMMON_PROTO = 'syntax = "proto3";\npackage billing;\nmessage Money { int64 cents = 1; string currency = 2; }\n'
BAD_PROTO = ['syntax = "proto3"; message A { int32 \x1b[2J = 1; }', "\x1b]0;TITLE\x07", "",
             'syntax = "proto3";\nimport "' + ABS + '/missing.proto";\nmessage A { int32 a = 1; }',
             'syntax = "proto3";\nimport "/etc/passwd";\nmessage A { int32 a = 1; }',
             'syntax = "proto3";\nmessage A {' + " message B {" * 500 + "}" * 500 + "}",
             'syntax = "proto3";\n' + "".join(f"message M{i} {{ int32 a = 1; }}\n" for i in range(3000)),
             base64.b64encode(b"\x0a\x05a.pro\x12\x03\x1b[2").decode(),
             base64.b64encode(bytes(range(7, 200, 3))).decode(),
             'syntax = "proto2";\nmessage G { optional group Grp = 1 { optional int32 a = 2; } }']
# Confluent's message indexes: the first message, a path to a nested one, then the hostile ones
INDEXES = [b"\x00", zigzag(1) + zigzag(0), zigzag(2) + zigzag(0) + zigzag(0), zigzag(1) + zigzag(5),
           zigzag(2) + zigzag(0) + zigzag(9), b"\xff" * 9 + b"\x01", zigzag(101), zigzag(-1), zigzag(1) + zigzag(-3),
           b"\x02", b"", b"\x80"]


def pb_field(number, wire, data):
    if wire == 2:
        return varint(number << 3 | 2) + varint(len(data)) + data
    return varint(number << 3 | wire) + data


def simple_message(s, n, b, tags, inner):
    return (pb_field(1, 2, s.encode("utf-8", "surrogatepass")) + pb_field(2, 0, varint(n % 2**64)) + pb_field(3, 2, b)
            + b"".join(pb_field(4, 2, t.encode("utf-8", "surrogatepass")) for t in tags)
            + pb_field(6, 2, pb_field(1, 2, inner.encode("utf-8", "surrogatepass"))))


@st.composite
def proto_simple(draw):
    payloads = []
    for _ in range(draw(st.integers(1, 3))):
        body = simple_message(draw(hostile_text), draw(st.integers(-2**63, 2**64 - 1)), draw(st.binary(max_size=10)),
                              draw(st.lists(hostile_text, max_size=3)), draw(hostile_text))
        index = draw(st.sampled_from(INDEXES))
        payloads.append(index + draw(mangled(body) | st.sampled_from(
            [b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\x0b" * 2000,
             b"\x0a\x02\xc3\x28", b"\x12" * 10000])))
    return Case(answer(SIMPLE_PROTO, "PROTOBUF"), payloads, in_key=draw(st.booleans()))


@st.composite
def proto_deep(draw):
    payloads = []
    for _ in range(draw(st.integers(1, 2))):
        inner = pb_field(2, 2, draw(hostile_text).encode())
        for _ in range(draw(deep_counts)):
            inner = pb_field(1, 2, inner)
        payloads.append(b"\x00" + inner)
    return Case(answer(NODE_PROTO, "PROTOBUF"), payloads)


@st.composite
def proto_import(draw):
    """The schema imports a reference by a name the registry chose (the file, or arguments, protoc once got)."""
    name = draw(names)
    subject = draw(subjects)
    schema = (f'syntax = "proto3";\npackage billing;\nimport "{proto_string(name)}";\n'
              "message Invoice { string id = 1; Money total = 2; }\n")
    referenced = draw(st.sampled_from([COMMON_PROTO, COMMON_PROTO, "not proto", f'import "{proto_string(name)}";']))
    body = pb_field(1, 2, draw(hostile_text).encode()) + pb_field(2, 2, pb_field(1, 0, varint(1250))
                                                                  + pb_field(2, 2, b"EUR"))
    return Case(answer(schema, "PROTOBUF", [{"name": name, "subject": subject, "version": 1}]),
                [b"\x00" + draw(mangled(body))], versions={(subject, "1"): version_answer(subject, referenced,
                                                                                          "PROTOBUF")})


@st.composite
def proto_bad(draw):
    return Case(answer(draw(st.sampled_from(BAD_PROTO)), "PROTOBUF"), [b"\x00" + draw(st.binary(max_size=30))])


proto_cases = st.one_of(proto_simple(), proto_deep(), proto_import(), proto_bad())


# -- the registry's answers themselves ---------------------------------------------------------------------------
ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[H\u009b31m\u202e"
GOOD_USER = json.dumps(USER_AVRO)
GOOD_PAYLOAD = avro_bytes(USER_AVRO, {"name": "ann", "age": 41, "blob": b"\x00", "tags": {}})
MISBEHAVIOURS = [
    Drip(json.dumps(answer(GOOD_USER, "AVRO")).encode(), every=0.3), Hang(), Fail(500, ESCAPES + " broke"),
    Fail(500, ESCAPES * 100000), Fail(401, ESCAPES), Fail(403, ESCAPES), Fail(404, ESCAPES),
    Fail(422, "x" * 20), Raw(b"\x1b[2J<html>not json" + b"\x07" * 10, 500), Raw(b"<html>\x1b[2J</html>", 200),
    Raw(b"", 200), Raw(b"[" * 100000, 200), Raw(b'{"schema":"\\ud800"}', 200),
    Raw(b"{}", 200, {"Content-Length": "10"}), Raw(b'{"schema":' + b'"\\"string\\""' + b"}", 302,
                                                   {"Location": SSRF + "/redirected"}),
    Huge(40 * 2**20), Huge(40 * 2**20, announce=False), Huge(2**62), Bomb(256 * 2**20)]
ODD_SHAPES = [[], "text", 5, None, {}, {"schema": 5}, {"schema": None}, {"schema": ["x"]}, {"schema": {"type": "int"}},
              {"schema": '"int"', "schemaType": 5}, {"schema": '"int"', "schemaType": ["AVRO"]},
              {"schema": '"int"', "schemaType": {}}, {"schema": '"int"', "schemaType": "avro"},
              {"schema": '"int"', "schemaType": "XML" + ESCAPES}, {"schema": '"int"', "references": "x"},
              {"schema": '"int"', "references": [5]}, {"schema": '"int"', "references": [{"name": 5}]},
              {"schema": '"int"', "references": [{"name": "a", "subject": ["s"], "version": {}}]},
              {"schema": '"int"', "references": [{"name": "a", "subject": "s", "version": "../../../x"}]},
              {"schema": '"int"', "references": {"name": "a"}}, {"schema": '"int"', "metadata": 5, "ruleSet": "x"}]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=5), inner,
                                                                                        max_size=2), max_leaves=4)


@st.composite
def odd_answers(draw):
    """A good answer with one of its keys holding any JSON value (a registry's client checks no type), or any
    JSON value as the whole answer."""
    key = draw(st.sampled_from(["schema", "schemaType", "schemaType", "references", "whole"]))
    if key == "whole":
        return draw(json_values)
    scalars = st.integers() | st.floats() | st.just(True)  # a type name is a string; these are not
    return {"schema": '"int"', "schemaType": "AVRO", "references": [],
            key: draw((scalars | json_values).filter(lambda v: v and v != '"int"'))}


@st.composite
def registry_answers(draw):
    """One id whose answer misbehaves or is of an odd shape; a second, good id after it (or the same id's good
    schema with a misbehaving reference or subject lookup)."""
    how = draw(st.sampled_from(["misbehaves", "odd shape", "odd value", "odd value", "reference misbehaves",
                                "subject misbehaves", "reference cycle"]))  # odd answers are many, and cost no wait
    payloads = [GOOD_PAYLOAD, draw(st.binary(max_size=20))]
    if how == "misbehaves":
        return Case(draw(st.sampled_from(MISBEHAVIOURS)), payloads)
    if how in ("odd shape", "odd value"):
        odd = st.sampled_from(ODD_SHAPES) if how == "odd shape" else odd_answers()
        return Case(draw(odd), [b"\x02", draw(st.binary(max_size=20))])
    if how == "reference misbehaves":
        ref = {"name": "ref.Address", "subject": "ref", "version": 1}
        return Case(answer(GOOD_USER, "AVRO", [ref]), payloads,
                    versions={("ref", "1"): draw(st.sampled_from(MISBEHAVIOURS + ODD_SHAPES))})
    if how == "subject misbehaves":
        return Case(answer(GOOD_USER, "AVRO"), payloads, subjects=draw(st.sampled_from(
            MISBEHAVIOURS + [[{"subject": ESCAPES, "version": 1}], [{"subject": 5}], [5], "x", {"a": 1}])))
    cycle = [{"name": "a", "subject": "a", "version": 1}]
    return Case(answer(GOOD_USER, "AVRO", cycle), payloads,
                versions={("a", "1"): {**version_answer("a", GOOD_USER, "AVRO"), "references": cycle}})


# -- running one example ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake_registry():
    registry = FakeRegistry()
    yield registry
    registry.close()


def evil_arguments(marker, directory):
    """protoc's arguments that run /bin/sh as a plugin, fed a request holding ";touch MARKER;#" (sh runs that
    line); the input file is one protoc always finds (its own include directory): without one it runs nothing."""
    return (f"--plugin=protoc-gen-evil=/bin/sh\n--evil_out=;touch {marker};#x:{directory}\n"
            "google/protobuf/empty.proto\n")


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """The places a hostile name aims at, outside every sandbox: an arguments file that makes protoc run /bin/sh
    (to touch `marker`), and a directory (`absolute`) that nothing may create."""
    base = tmp_path_factory.mktemp("outside")
    marker, args = base / "PWNED", base / "evil-args"
    args.write_text(evil_arguments(marker, base))
    return {"base": base, "marker": marker, "args": args, "absolute": base / "never-made"}


BOUND_EXTRA = 20  # seconds beyond two registry timeouts that a run may take: start, the broker, the decoding


def exercise(cases, *, kafka, make_topic, registry, outside, tmp_path, timeout=2, tty=False):
    """Put `cases` in the fake registry under ids of their own, write a plain message, their framed ones and
    another plain one to a new topic, read it with consumer.py, and hold the run to every invariant."""
    registry.reset()
    places = {ARGS: str(outside["args"]), ABS: str(outside["absolute"]), SSRF: registry.url + SSRF_PATH}
    ids = [1, 0x7FFFFFFF, 0xFFFFFFFF, 0, 257][:len(cases)]
    messages = [FIRST]
    for schema_id, case in zip(ids, cases):
        registry.schemas[schema_id] = fill(case.answer, places)
        registry.versions.update({fill(k, places): fill(v, places) for k, v in case.versions.items()})
        if case.subjects is not None:
            registry.schema_versions[schema_id] = fill(case.subjects, places)
        for payload in case.payloads:
            framed = b"\x00" + schema_id.to_bytes(4, "big") + fill(payload, places)
            messages.append((framed, b"v") if case.in_key else (b"k", framed))
    messages.append(LAST)
    topic = make_topic(1)
    send(kafka, topic, messages)
    sandbox = Sandbox(tempfile.mkdtemp(prefix="sandbox-", dir=tmp_path))
    config = write_registry_config(sandbox.root / "fake.ini", kafka, [
        "[schema_registry]", f"url={registry.url}", f"timeout={timeout}"])
    before = sandbox.files()
    bound = timeout * 2 + BOUND_EXTRA
    args = ["-e", "-o", "beginning"] + ([] if tty else ["-f", "json"])
    run = run_consumer(config, topic, *args, sandbox=sandbox, bound=bound, tty=tty)
    assert_harmless(run, sandbox, before, bound)
    assert not outside["marker"].exists(), "protoc ran the plugin of a hostile arguments file"
    assert not outside["absolute"].exists(), "a file was written where a hostile absolute name pointed"
    assert not [p for p in registry.requests if p.startswith(SSRF_PATH)], \
        f"consumer.py fetched what a schema pointed at: {registry.requests}"
    (check_terminal if tty else check_json)(run, messages)
    stderr = run.stderr.decode("utf-8", "surrogateescape")
    for schema_id in ids:
        for side in ("key", "value"):
            said = stderr.count(f"the {side} schema (id {schema_id}) cannot be had")
            assert said <= 1, f"schema id {schema_id} unavailable said {said} times"
    return run


def check_json(run, messages):
    """-f json: one line per message, each JSON (strict UTF-8), in offset order, both plain messages as they are;
    a framed key or value decoded (with its stored bytes in *_raw), or kept as stored with *_error saying why."""
    lines = run.stdout.split(b"\n")
    assert lines[-1] == b"", tail(run.stdout)
    records = []
    for line in lines[:-1]:
        try:
            records.append(json.loads(line.decode("utf-8")))
        except ValueError as e:  # UnicodeDecodeError too
            pytest.fail(f"a -f json line that is no JSON in UTF-8 ({e}): {short(line, 600)}")
    assert [r["offset"] for r in records] == list(range(len(messages))), tail(run.stderr)
    assert (records[0]["key"], records[0]["value"]) == ("k-first", "plain-first")
    assert (records[-1]["key"], records[-1]["value"]) == ("k-last", "plain-last")
    for record, (key, value) in zip(records[1:-1], messages[1:-1]):
        for side, stored in (("key", key), ("value", value)):
            if stored[:1] != b"\x00":
                assert record[side] == stored.decode() and f"{side}_schema_id" not in record
                continue
            assert record[f"{side}_schema_id"] == int.from_bytes(stored[1:5], "big")
            if f"{side}_error" in record:
                shown = record[side]
                assert (base64.b64decode(shown["base64"]) if isinstance(shown, dict) else shown.encode()) == stored
            else:
                assert base64.b64decode(record[f"{side}_raw"]["base64"]) == stored


def check_terminal(run, messages):
    """Text on a terminal: one line per message (everything a terminal obeys escaped), both plain messages as
    they are, every framed one shown after its key."""
    lines = run.stdout.split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == len(messages), tail(run.stdout)
    assert lines[0] == b"k-first:plain-first" and lines[-2] == b"k-last:plain-last"
    for line, (key, _) in zip(lines[1:-2], messages[1:-1]):
        assert line.startswith(b"k:") if key == b"k" else line.endswith(b":v"), line[:200]


# -- the fuzzers --------------------------------------------------------------------------------------------------
def several(cases):
    return st.lists(cases, min_size=1, max_size=3)


@FUZZ
@example(cases=[Case(answer(LINKED_LIST, "AVRO"), [b"\x02" * 20000 + b"\x00", b"\x02\x00"])], tty=False)
@example(cases=[Case(answer(LONG_TYPE_NAME, "AVRO"), [b"\x00"])], tty=False)  # a type name of 100,000 characters
@example(cases=[Case(answer(EMPTY_ITEMS[0], "AVRO"), [zigzag(2**40) + b"\x00"])], tty=True)
@given(cases=several(avro_cases), tty=st.booleans())
def test_avro_schemas_and_payloads_of_any_kind(cases, tty, kafka, make_topic, fake_registry, outside, tmp_path):
    exercise(cases, kafka=kafka, make_topic=make_topic, registry=fake_registry, outside=outside, tmp_path=tmp_path,
             tty=tty)


@FUZZ
@example(cases=[Case(answer(json.dumps({"type": "string", "pattern": r"^(a|aa)+$"}), "JSON"),
                     [json.dumps("a" * 40 + "b").encode()])], tty=False)
# lone surrogates: JSON's \u escapes can write what UTF-8 cannot
@example(cases=[Case(answer("{}", "JSON"), [b'{"s":"\\udc80"}'])], tty=False)
@example(cases=[Case(answer('{"type":"object"}', "JSON"), [b'{"\\udfff":1}', b'"\\ud800"'])], tty=True)
@given(cases=several(json_cases), tty=st.booleans())
def test_json_schemas_and_documents_of_any_kind(cases, tty, kafka, make_topic, fake_registry, outside, tmp_path):
    exercise(cases, kafka=kafka, make_topic=make_topic, registry=fake_registry, outside=outside, tmp_path=tmp_path,
             tty=tty)


@FUZZ
@example(cases=[Case(answer(f'syntax = "proto3";\npackage billing;\nimport "@{ARGS}";\n'
                            "message Invoice { string id = 1; Money total = 2; }\n", "PROTOBUF",
                            [{"name": f"@{ARGS}", "subject": "common", "version": 1}]), [b"\x00\x0a\x01x"],
                     versions={("common", "1"): version_answer("common", COMMON_PROTO, "PROTOBUF")})], tty=False)
@given(cases=several(proto_cases), tty=st.booleans())
def test_protobuf_schemas_imports_and_payloads_of_any_kind(cases, tty, kafka, make_topic, fake_registry, outside,
                                                           tmp_path):
    exercise(cases, kafka=kafka, make_topic=make_topic, registry=fake_registry, outside=outside, tmp_path=tmp_path,
             tty=tty)


@settings(FUZZ, max_examples=16)
@example(case=Case(Hang(), [GOOD_PAYLOAD]), timeout=1)
@example(case=Case({"schema": '"int"', "schemaType": 5}, [b"\x02"]), timeout=1)
@example(case=Case(Drip(json.dumps(answer(GOOD_USER, "AVRO")).encode(), every=0.5), [GOOD_PAYLOAD]), timeout=2)
@given(case=registry_answers(), timeout=st.sampled_from([1, 2]))
def test_registry_answers_that_misbehave_or_are_of_any_shape(case, timeout, kafka, make_topic, fake_registry,
                                                              outside, tmp_path):
    good = Case(answer(GOOD_USER, "AVRO"), [GOOD_PAYLOAD])
    run = exercise([case, good], kafka=kafka, make_topic=make_topic, registry=fake_registry, outside=outside,
                   tmp_path=tmp_path, timeout=timeout)
    if isinstance(case.answer, (Hang, Drip)):  # one whole timeout for the id, and the message says so
        assert f"did not answer within {timeout}" in run.stderr.decode(), tail(run.stderr)


# -- regressions, through the real registry -----------------------------------------------------------------------
def framed(schema_id, payload):
    return b"\x00" + schema_id.to_bytes(4, "big") + payload


def real_registry_run(kafka, schema_registry, tmp_path, topic, *args, bound=60, first_check=None):
    """consumer.py on the real registry, text to a pipe, in a sandbox held to every invariant (after
    `first_check(run)`, the test's own most telling one); the Run."""
    sandbox = Sandbox(tmp_path / "sandbox")
    config = write_registry_config(sandbox.root / "schema.ini", kafka, [
        "[schema_registry]", f"url={schema_registry.url}", f"basic.auth.user.info={schema_registry.user_info}"])
    before = sandbox.files()
    run = run_consumer(config, topic, *args, sandbox=sandbox, bound=bound)
    if first_check is not None:
        first_check(run)
    assert_harmless(run, sandbox, before, bound, stdout_escaped=False)
    return run


INVOICE = "message Invoice { string id = 1; Money total = 2; }\n"
INVOICE_BYTES = pb_field(1, 2, b"A-1") + pb_field(2, 2, pb_field(1, 0, varint(1250)) + pb_field(2, 2, b"EUR"))


def test_a_protobuf_reference_named_at_argsfile_or_an_absolute_path_runs_nothing_and_writes_nothing(
        kafka, make_topic, sr_client, schema_registry, tmp_path):
    """protoc reads an argument @FILE as more arguments: a registry that named a reference "@/path/args" made it
    run a plugin of its choice (/bin/sh, here to touch MARKER); a reference named by an absolute path was written
    there. Both schemas are the registry's own, registered through its API as any producer would."""
    from confluent_kafka.schema_registry import Schema, SchemaReference

    outside = tmp_path / "outside"
    outside.mkdir()
    marker, args = outside / "MARKER", outside / "argsfile"
    args.write_text(evil_arguments(marker, outside))
    absolute = outside / "made-by-the-consumer" / "written.proto"
    topic = make_topic(1)
    common = f"{topic}-common"
    sr_client.register_schema(common, Schema(COMMON_PROTO, "PROTOBUF"))
    version = sr_client.get_latest_version(common).version
    ids = []
    for number, name in enumerate([f"@{args}", str(absolute)]):
        text = f'syntax = "proto3";\npackage billing;\nimport "{name}";\n{INVOICE}'
        ids.append(sr_client.register_schema(f"{topic}-invoice-{number}", Schema(
            text, "PROTOBUF", [SchemaReference(name, common, version)])))
    assert sr_client.get_schema(ids[0]).references[0].name == f"@{args}"  # the registry keeps the name as given
    send(kafka, topic, [FIRST, (b"i", framed(ids[0], b"\x00" + INVOICE_BYTES)),
                        (b"j", framed(ids[1], b"\x00" + INVOICE_BYTES)), LAST])

    def nothing_run_or_written(run):
        assert not marker.exists(), f"protoc read the arguments file and ran its plugin: {tail(run.stderr, 300)!r}"
        assert not absolute.parent.exists(), "a file was written at the reference's absolute path"

    run = real_registry_run(kafka, schema_registry, tmp_path, topic, "-e", "-o", "beginning",
                            first_check=nothing_run_or_written)
    assert sorted(os.listdir(outside)) == ["argsfile"]
    decoded = b'{"id":"A-1","total":{"cents":"1250","currency":"EUR"}}'
    assert run.returncode == 0 and run.stdout.split(b"\n") == [
        b"k-first:plain-first", b"i:" + decoded, b"j:" + decoded, b"k-last:plain-last", b""], tail(run.stderr)


def test_a_20000_deep_avro_linked_list_is_a_poison_message_and_the_group_goes_on(
        kafka, make_topic, sr_client, schema_registry, tmp_path, group):
    """fastavro's C reader recursed once per level: 20,000 levels of a recursive schema killed the consumer with
    SIGSEGV before it committed, so every later run of the group died on the same message."""
    from confluent_kafka.schema_registry import Schema

    topic = make_topic(1)
    schema_id = sr_client.register_schema(f"{topic}-value", Schema(LINKED_LIST, "AVRO"))
    deep = framed(schema_id, b"\x02" * 20000 + b"\x00")
    send(kafka, topic, [(b"good", framed(schema_id, b"\x02\x02\x00")), (b"deep", deep), (b"after", b"plain")])
    first = real_registry_run(kafka, schema_registry, tmp_path, topic, "-g", group, "-e", bound=120)
    assert first.returncode == 0, tail(first.stderr)
    assert first.stdout.split(b"\n") == [b'good:{"next":{"next":{"next":null}}}', b"deep:!poison! " + deep,
                                         b"after:plain", b""]
    said = [line for line in first.stderr.decode().splitlines() if "poison message" in line]
    assert len(said) == 1 and f"{topic} [0] @ 1: poison message" in said[0] and "nests deeper than 100" in said[0]
    again = real_registry_run(kafka, schema_registry, tmp_path / "again", topic, "-g", group, "-e", bound=120)
    assert (again.returncode, again.stdout) == (0, b""), tail(again.stderr)  # committed past it: nothing left


EMAIL = r"^([a-zA-Z0-9]+)*@example\.com$"
DOUBLED = r"^(a|aa)+$"


def register_redos(sr_client, topic):
    from confluent_kafka.schema_registry import Schema

    draft = "http://json-schema.org/draft-07/schema#"
    email = json.dumps({"$schema": draft, "type": "object", "required": ["email"],
                        "properties": {"email": {"type": "string", "pattern": EMAIL}}})
    doubled = json.dumps({"$schema": draft, "type": "string", "pattern": DOUBLED})
    return (sr_client.register_schema(f"{topic}-email", Schema(email, "JSON")),
            sr_client.register_schema(f"{topic}-doubled", Schema(doubled, "JSON")))


def test_json_schema_patterns_that_backtrack_cost_a_bounded_time(kafka, make_topic, sr_client, schema_registry,
                                                                  tmp_path):
    """Python's re backtracks without bound: ^([a-zA-Z0-9]+)*@example\\.com$ on 34 characters ran 12 minutes."""
    topic = make_topic(1)
    email, doubled = register_redos(sr_client, topic)
    evil_email, evil_doubled = json.dumps({"email": "a" * 40 + "!"}), json.dumps("a" * 40 + "b")
    assert len("a" * 40 + "!") == len("a" * 40 + "b") == 41
    send(kafka, topic, [(b"ok", framed(email, b'{"email":"ann@example.com"}')),
                        (b"e", framed(email, evil_email.encode())), (b"d", framed(doubled, evil_doubled.encode())),
                        (b"ok", framed(doubled, b'"aaaa"'))])
    run = real_registry_run(kafka, schema_registry, tmp_path, topic, "-e", "-o", "beginning", bound=30)
    assert run.seconds < 8, f"{run.seconds:.1f} s"
    assert run.returncode == 0 and run.stdout.split(b"\n") == [
        b'ok:{"email":"ann@example.com"}', b"e:!poison! " + framed(email, evil_email.encode()),
        b"d:!poison! " + framed(doubled, evil_doubled.encode()), b'ok:"aaaa"', b""], tail(run.stderr)
    said = [line for line in run.stderr.decode().splitlines() if "poison message" in line]
    assert [line.split(": poison message")[0] for line in said] == [f"consumer.py: {topic} [0] @ 1",
                                                                    f"consumer.py: {topic} [0] @ 2"]
    assert "does not fit the JSON schema at email" in said[0], said[0]  # the regex module needs no clock here
    assert "the JSON schema's patterns took over 0.5 s" in said[1], said[1]  # but does here


class Lines:
    """The lines of a stream as they come, read by a daemon thread: `seen` holds every one so far."""

    def __init__(self, stream):
        self.seen, self._queue = [], queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in iter(stream.readline, b""):
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, containing, seconds):
        """The next line holding `containing`, waited for up to `seconds` in all."""
        until = time.monotonic() + seconds
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no line with {containing!r} within {seconds} s; so far: {self.seen[-5:]}")
            assert line is not None, f"the stream ended before a line with {containing!r}: {self.seen[-5:]}"
            self.seen.append(line)
            if containing in line:
                return line

    def rest(self):
        self.thread.join(30)
        assert not self.thread.is_alive(), "the stream stayed open"
        while (line := self._queue.get_nowait()) is not None:
            self.seen.append(line)
        return self.seen


def test_sigterm_ends_a_consumer_busy_on_backtracking_patterns_within_2_s(kafka, make_topic, sr_client,
                                                                         schema_registry, tmp_path):
    """re's matching never hands control back to the interpreter, so the consumer's SIGTERM handler could not run
    until every pattern gave up: minutes, with the terminal's Ctrl-C and a service manager's stop ignored. Now a
    signal ends the batch being decoded at once: exit 0 (SIGTERM is the normal way to stop), nothing more of it
    written."""
    topic = make_topic(1)
    email, doubled = register_redos(sr_client, topic)
    send(kafka, topic, [FIRST])
    sandbox = Sandbox(tmp_path / "sandbox")
    config = write_registry_config(sandbox.root / "schema.ini", kafka, [
        "[schema_registry]", f"url={schema_registry.url}", f"basic.auth.user.info={schema_registry.user_info}"])
    before = sandbox.files()
    proc = subprocess.Popen(consumer_command(config, topic, "-o", "beginning"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=sandbox.cwd, env=sandbox.env())
    try:
        out, err = Lines(proc.stdout), Lines(proc.stderr)
        assert out.wait_for(b"", 60) == b"k-first:plain-first\n"
        evil = [(b"e", framed(email, json.dumps({"email": "a" * 40 + "!"}).encode())),
                (b"d", framed(doubled, json.dumps("a" * 40 + "b").encode()))]
        send(kafka, topic, evil * 20)  # 20 messages of 0.5 s each: the consumer is busy for 10 s
        err.wait_for(b"poison message", 30)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            pytest.fail("consumer.py still ran 2 s after SIGTERM")
        ended = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout, stderr = out.rest(), b"".join(err.rest())
    assert proc.returncode == 0 and ended < 2, (proc.returncode, stderr[-2000:])
    assert b"Traceback" not in stderr and sandbox.files() == before
    assert stdout[0] == b"k-first:plain-first\n" and len(stdout) < 41, stdout[-3:]
    assert all(line.startswith((b"e:!poison! ", b"d:!poison! ")) for line in stdout[1:]), stdout[-3:]
