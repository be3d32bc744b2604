"""kafka_cli.core.boundary: what may reach confluent-kafka's C code, for any text hypothesis finds."""

from hypothesis import given, strategies as st

from kafka_cli.core.boundary import INT32_MAX, c_string_problem, int_problem, topic_problem


@given(st.text())
def test_a_string_passes_exactly_when_it_is_utf8_without_nul(text):
    try:
        text.encode("utf-8")
        encodable = True
    except UnicodeEncodeError:
        encodable = False
    assert (c_string_problem(text) is None) == (encodable and "\x00" not in text)


@given(st.binary())
def test_a_command_line_byte_that_is_not_utf8_is_named(raw):
    import os

    text = os.fsdecode(raw)
    problem = c_string_problem(text)
    if b"\x00" in raw:
        assert "NUL" in problem
    else:
        try:
            raw.decode("utf-8")
            assert problem is None
        except UnicodeDecodeError:
            assert problem is not None and "not valid UTF-8" in problem and "byte \\x" in problem


def test_problems_name_the_fault_not_the_value():
    assert c_string_problem("a\x00b") == "holds a NUL character (at position 1)"
    assert c_string_problem("t\udcff") == "is not valid UTF-8 (byte \\xff at position 1)"
    assert c_string_problem("\ud800") == "holds a lone surrogate \\ud800 at position 0, which is not valid UTF-8"
    assert topic_problem("orders") is None and topic_problem("a.b_c-1") is None
    assert "249" in topic_problem("x" * 250)
    assert "ASCII" in topic_problem("ordérs") and "ASCII" in topic_problem("a b")
    assert topic_problem("..") is not None and topic_problem("") == "is empty"
    assert int_problem(INT32_MAX, 0, INT32_MAX) is None
    assert int_problem(INT32_MAX + 1, 0, INT32_MAX) == "2147483648 is out of range (0 to 2,147,483,647)"


def test_integer_properties_are_read_as_librdkafka_reads_them():
    from kafka_cli.core.boundary import librdkafka_int

    # each spelling was tried against confluent-kafka: message.max.bytes took them with these values
    for text, value in [("0x100000", 1048576), ("010000000", 2097152), (" 2000000", 2000000), ("2000000 ", 2000000),
                        ("+2000000", 2000000), ("2000000abc", 2000000), ("2e6", 2), ("1_000_000", 1), ("", 0),
                        ("-5", -5), ("0", 0)]:
        assert librdkafka_int(text) == value, text
