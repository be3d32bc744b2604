"""kafka_cli.core.boundary: what may reach confluent-kafka's C code, for any text hypothesis finds."""

import pytest
from hypothesis import given, strategies as st

from kafka_cli.core.boundary import (INT32_MAX, c_string_problem, group_problem, int_problem, topic_problem,
                                     topic_selector_problem)


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


@pytest.mark.parametrize("value, reason", [
    ("orders", None), ("^orders-.*", None), ("^[[:alpha:]]+", None),  # (a POSIX class: a FutureWarning to re)
    ("no spaces", "may hold only"), ("", "is empty"), ("a\x00b", "holds a NUL"),
    ("^(a", "pattern is not a regular expression: missing ), unterminated subpattern at position 1"),
    ("^" + "(" * 1000 + ")" * 1000, "pattern is not a regular expression Python can read: its groups are nested"),
    ("^a{99999999999}", "pattern is not a regular expression Python can read: a repeat count is too large"),
    ("^a\udcff", "pattern is not valid UTF-8"),
])
def test_a_topic_value_is_a_name_or_a_pattern_and_its_reason_reads_after_the_topic(value, reason):
    problem = topic_selector_problem(value)
    assert problem == reason if reason is None else problem.startswith(reason), problem


@pytest.mark.parametrize("group, reason", [
    ("billing", None), ("any characters: é ✓ / \\", None), ("", "is empty"), ("a\x00b", "NUL"),
    ("g\udcff", "is not valid UTF-8"), ("g\ud800", "lone surrogate")])
def test_a_group_id_is_any_c_string_but_an_empty_one(group, reason):
    problem = group_problem(group)
    assert problem is None if reason is None else reason in problem, problem
