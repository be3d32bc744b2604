"""Registry content and message bytes are untrusted input (docs/security.md): what a schema's writer or a topic's
writer hands the codecs can make them decode, or refuse with BadSchema / BadPayload, and nothing else: no
program run, no file written, no crash, no unbounded time or memory, no raw control character shown."""

import io
import json
import logging
import os
import re
import time
import tracemalloc

import pytest
from confluent_kafka.schema_registry import Schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafka_cli.schema import codecs as schema_types
from kafka_cli.core.errors import CliError
from kafka_cli.core.escaping import UNSAFE_ON_TERMINAL, shown
from kafka_cli.schema.codecs import MAX_DEPTH, MAX_EMPTY_ITEMS, BadPayload, BadSchema, make_codec

RAW_CONTROL = re.compile(f"[{UNSAFE_ON_TERMINAL}\ud800-\udfff]")
COMMON = 'syntax = "proto3";\npackage billing;\nmessage Money { int64 cents = 1; string currency = 2; }\n'
LINKED_LIST = '{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}'


def invoice(import_name):
    return (f'syntax = "proto3";\npackage billing;\nimport "{import_name}";\n'
            'message Invoice { string id = 1; Money total = 2; }\n')


def zigzag(n):
    return schema_types._zigzag(n)


@pytest.fixture
def protoc_argv(monkeypatch):
    """Every command line protoc is given."""
    from grpc_tools import protoc

    seen, real = [], protoc.main

    def recording(argv):
        seen.append(list(argv))
        return real(argv)

    monkeypatch.setattr(protoc, "main", recording)
    return seen


def files_under(*directories):
    return {os.path.join(d, name) for top in directories for d, _, names in os.walk(top) for name in names}


# -- Protobuf: a reference's name is data, never a path or an argument -------------------------------------
def test_an_at_name_does_not_make_protoc_read_arguments_from_a_file(tmp_path, protoc_argv):
    marker = tmp_path / "PWNED"
    args = tmp_path / "evil-args"
    # an input file too: without one protoc stops at "Missing input file" before it runs any plugin
    args.write_text(f"--plugin=protoc-gen-evil=/bin/sh\n--evil_out=;touch {marker};#x:{tmp_path}\n"
                    "google/protobuf/empty.proto\n")
    name = f"@{args}"
    codec = make_codec(Schema(invoice(name), "PROTOBUF"), [(name, Schema(COMMON, "PROTOBUF"))])
    assert codec.message_names() == [("Invoice", "billing.Invoice", (0,))]
    assert not marker.exists()
    assert protoc_argv and all(name not in " ".join(argv) and not any(a.startswith("@") for a in argv)
                               for argv in protoc_argv)


def test_an_absolute_or_climbing_name_writes_no_file_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in (str(tmp_path / "written.proto"), "../../escaped.proto", "sub/../../up.proto"):
        codec = make_codec(Schema(invoice(name), "PROTOBUF"), [(name, Schema(COMMON, "PROTOBUF"))])
        assert codec.full_name((0,)) == "billing.Invoice"
    assert files_under(tmp_path, tmp_path.parent) - files_under(tmp_path.parent) == set()
    assert not (tmp_path / "written.proto").exists()
    assert not (tmp_path.parent.parent / "escaped.proto").exists()


NAMES = st.text(st.characters(codec="utf-8", exclude_characters='"\\\n\r'), min_size=1, max_size=60) | \
    st.sampled_from(["@/etc/passwd", "-I/", "--plugin=x", "/tmp/x.proto", "../x.proto", "a\x1b]0;T\x07.proto",
                     "schema", "imports.pb", "google/protobuf/empty.proto", "@", "-"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES)
def test_any_reference_name_compiles_or_is_a_bad_schema_and_touches_no_file(name, tmp_path, protoc_argv,
                                                                            monkeypatch):
    import tempfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # our private directory is made here, and must go
    existed = os.path.lexists(name)
    protoc_argv.clear()
    try:
        codec = make_codec(Schema(invoice(name), "PROTOBUF"), [(name, Schema(COMMON, "PROTOBUF"))])
        assert codec.full_name((0,)) == "billing.Invoice"
    except BadSchema as e:
        assert "\n" not in str(e)
    assert files_under(tmp_path) == set() and os.listdir(tmp_path) == []
    assert os.path.lexists(name) == existed
    for argv in protoc_argv:  # our own arguments only: the fixed source name and our directories
        assert argv[0] == "protoc" and argv[-1] == schema_types.PROTO_SOURCE
        assert [a.split("=")[0] for a in argv[1:-1]] == ["--proto_path", "--proto_path", "--descriptor_set_in",
                                                       "--descriptor_set_out"]
        from grpc_tools import protoc

        include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
        assert all(a.split("=", 1)[1].startswith(str(tmp_path) + "/kafka-cli-proto-") or a.endswith("=" + include)
                   for a in argv[1:-1])


def test_protocs_complaint_is_the_reason_and_never_reaches_stderr_itself(capfd):
    with pytest.raises(BadSchema, match=r"does not compile: line 1:\d+: .*") as caught:
        make_codec(Schema('syntax = "proto3"; message A { int32 \x1b[2J = 1; }', "PROTOBUF"), [])
    assert capfd.readouterr().err == ""
    assert "kafka-cli-proto-" not in str(caught.value)  # our private directory is nobody's business


# -- Avro: depth and empty items bounded before fastavro's C reader --------------------------------------
def test_a_deep_linked_list_is_a_poison_message_not_a_crash():
    codec = make_codec(Schema(LINKED_LIST, "AVRO"), [])
    assert codec.decode(b"\x02" * 3 + b"\x00") == {"next": {"next": {"next": {"next": None}}}}
    with pytest.raises(BadPayload, match=f"nests deeper than {MAX_DEPTH}"):
        codec.decode(b"\x02" * 20000 + b"\x00")
    assert codec.decode(b"\x02" * (MAX_DEPTH - 1) + b"\x00") is not None


def test_a_schema_that_contains_itself_without_a_way_out_never_recurses_for_ever():
    codec = make_codec(Schema('{"type":"record","name":"R","fields":[{"name":"r","type":"R"}]}', "AVRO"), [])
    with pytest.raises(BadPayload, match="nests deeper"):
        codec.decode(b"\x00" * 10)


@pytest.mark.parametrize("items", ['{"type":"record","name":"E","fields":[]}', '"null"',
                                   '{"type":"fixed","name":"F","size":0}'])
def test_twelve_bytes_cannot_ask_for_gigabytes(items):
    codec = make_codec(Schema(f'{{"type":"array","items":{items}}}', "AVRO"), [])
    tracemalloc.start()
    try:
        for count in (2**40, 10**7, MAX_EMPTY_ITEMS + 1):
            with pytest.raises(BadPayload, match="items that take no bytes"):
                codec.decode(zigzag(count) + b"\x00")
        assert len(codec.decode(zigzag(MAX_EMPTY_ITEMS) + b"\x00")) == MAX_EMPTY_ITEMS
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


def test_the_producer_writes_nothing_the_consumer_would_refuse():
    codec = make_codec(Schema(LINKED_LIST, "AVRO"), [])
    deep = None
    for _ in range(MAX_DEPTH + 5):
        deep = {"next": deep}
    with pytest.raises(BadPayload, match="nests deeper"):
        codec.encode(deep)


AVRO_SCHEMAS = [LINKED_LIST, '{"type":"array","items":"null"}',
                '{"type":"record","name":"T","fields":[{"name":"kids","type":{"type":"array","items":"T"}},'
                '{"name":"tags","type":{"type":"map","values":["null","string","T"]}}]}',
                '{"type":"array","items":{"type":"array","items":{"type":"record","name":"E","fields":[]}}}']


@settings(max_examples=300, deadline=None)
@given(schema=st.sampled_from(AVRO_SCHEMAS),
       payload=st.lists(st.sampled_from([b"\x00", b"\x02", b"\x01", b"\x04", b"\xff\xff\xff\xff\x0f",
                                         zigzag(2**40), zigzag(-(2**40)), b"\x06abc"]), max_size=400).map(b"".join)
       | st.binary(max_size=200))
def test_any_payload_of_a_risky_avro_schema_decodes_or_is_poison_quickly(schema, payload):
    codec = make_codec(Schema(schema, "AVRO"), [])
    started = time.monotonic()
    try:
        codec.decode(payload)
    except BadPayload as e:
        assert "\n" not in str(e)
    assert time.monotonic() - started < 2


# -- JSON Schema: recursion and patterns ---------------------------------------------------------------
def test_deep_json_is_a_poison_message():
    recursive = make_codec(Schema('{"type":"array","items":{"$ref":"#"}}', "JSON"), [])
    with pytest.raises(BadPayload, match="nests deeper"):
        recursive.decode(b"[" * 300 + b"]" * 300)
    with pytest.raises(BadPayload, match="nests deeper"):
        make_codec(Schema('{"type":"array"}', "JSON"), []).decode(b"[" * 100000 + b"]" * 100000)
    assert recursive.decode(b"[[[]]]") == [[[]]]


@pytest.mark.parametrize("pattern, value", [(r"^([a-zA-Z0-9]+)*@example\.com$", "a" * 34 + "!"),
                                            (r"^(a|aa)+$", "a" * 40 + "b")])
def test_a_pattern_that_backtracks_costs_a_bounded_time(pattern, value):
    codec = make_codec(Schema(json.dumps({"type": "array", "items": {"type": "string", "pattern": pattern}}),
                              "JSON"), [])
    started = time.monotonic()
    with pytest.raises(BadPayload):
        codec.decode(json.dumps([value] * 5).encode())
    assert time.monotonic() - started < schema_types.PATTERN_SECONDS + 3  # a bound, on a busy machine
    assert codec.decode(b'["ab@example.com"]' if "example" in pattern else b'["aaa"]')


def test_pattern_properties_run_on_the_clocked_engine_too():
    codec = make_codec(Schema('{"type":"object","patternProperties":{"^(a|aa)+$":{}},'
                              '"additionalProperties":false}', "JSON"), [])
    started = time.monotonic()
    with pytest.raises(BadPayload):
        codec.decode(json.dumps({"a" * 40 + "b": 1}).encode())
    assert time.monotonic() - started < schema_types.PATTERN_SECONDS + 3  # a bound, on a busy machine


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), "\ud800", {"\udfff": 1}])
def test_what_json_cannot_hold_is_never_written(value):
    codec = make_codec(Schema('{}', "JSON"), [])
    with pytest.raises(BadPayload, match="cannot be written as JSON"):
        codec.encode({"d": value})


# -- one escaping for stderr ----------------------------------------------------------------------------
@given(st.text())
def test_shown_leaves_no_character_a_terminal_obeys(text):
    assert not RAW_CONTROL.search(shown(text))
    if text.isprintable():
        assert shown(text) == text


def test_every_log_line_and_every_error_is_shown_escaped():
    from kafka_cli.core.secrets import Redactor
    from kafka_cli.cli.terminal import setup_logging

    log, _ = setup_logging("consumer.py", 0, False, Redactor())
    stream = io.StringIO()
    log.handlers[0].setStream(stream)
    log.warning("the registry said %s", "\x1b]0;TITLE\x07\x1b[2J")
    assert stream.getvalue() == "consumer.py: the registry said \\x1b]0;TITLE\\x07\\x1b[2J\n"
    assert CliError("unknown type \x1b[31mX\u202e").format_message() == "unknown type \\x1b[31mX\\u202e"
    logging.getLogger("consumer.py").handlers[:] = []


# -- what held before, kept held ---------------------------------------------------------------------------
def test_no_ref_id_or_schema_url_is_ever_fetched():
    import http.server
    import threading

    hits = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/s.json"
    try:
        for schema in ({"$ref": url}, {"$id": url, "type": "object", "properties": {"a": {"$ref": url}}},
                       {"$schema": url, "type": "object"}):
            try:
                make_codec(Schema(json.dumps(schema), "JSON"), []).decode(b'{"a": 1}')
            except (BadPayload, BadSchema):
                pass
    finally:
        server.shutdown()
    assert hits == []


@pytest.mark.parametrize("name", ["/etc/passwd", "../../../../etc/passwd"])
def test_protoc_refuses_an_import_outside_its_own_files(name):
    with pytest.raises(BadSchema, match="does not compile"):
        make_codec(Schema(f'syntax = "proto3";\nimport "{name}";\nmessage A {{ int32 n = 1; }}\n', "PROTOBUF"), [])


@pytest.mark.parametrize("payload", [zigzag(2**40) + b"abc", zigzag(-5) + b"abc", b"\xff" * 11, b""])
def test_avro_lengths_beyond_the_bytes_and_overlong_numbers_are_poison(payload):
    for schema in ('"string"', '"bytes"', '{"type":"record","name":"S","fields":[{"name":"s","type":"string"}]}'):
        with pytest.raises(BadPayload):
            make_codec(Schema(schema, "AVRO"), []).decode(payload)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_any_protobuf_framing_is_decoded_or_poison(payload):
    codec = make_codec(Schema(COMMON, "PROTOBUF"), [])
    try:
        codec.decode(payload)
    except BadPayload as e:
        assert "\n" not in str(e)


def test_an_array_in_a_union_with_bytes_is_converted_not_refused():
    codec = make_codec(Schema('{"type":"record","name":"R","fields":[{"name":"f","type":["null","bytes",'
                              '{"type":"array","items":{"type":"record","name":"I","fields":[{"name":"b",'
                              '"type":"bytes"}]}}]}]}', "AVRO"), [])
    payload = codec.encode({"f": [{"b": "\u00ff\u0001"}]})
    assert codec.decode(payload) == {"f": [{"b": b"\xff\x01"}]}
