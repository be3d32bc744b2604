"""kafka_cli.core.words: the shared sentences read the same from every caller, and one_line folds and cuts any
text as folding all of it would."""

from hypothesis import given, strategies as st

from kafka_cli.config.registry import REGISTRY_SECTION
from kafka_cli.core.words import REGISTRY_URL_SETTING, may_not, needs_registry, no_broker_answered, one_line


@given(st.text(alphabet=st.sampled_from("ab \t\n\r\x0b\x0c\u2028\u3000é"), max_size=60), st.integers(1, 30))
def test_one_line_is_the_whole_text_folded_then_cut(text, limit):
    folded = " ".join(text.split())
    assert one_line(text, limit) == (folded if len(folded) <= limit else folded[:limit] + "...")


def test_one_line_takes_anything_and_folds_no_more_than_it_shows():
    assert one_line(ValueError("line 1\n  line 2"), 100) == "line 1 line 2"
    assert one_line("word " * 1_000_000, 12) == "word word wo..."


class Config:
    path = "c.ini"

    def get(self, name, default=None):
        return {"bootstrap.servers": "b:9092"}.get(name, default)


def test_the_shared_sentences():
    assert no_broker_answered("within --timeout 5 s", Config()) == (
        "no broker answered within --timeout 5 s: check bootstrap.servers (b:9092) in c.ini")
    assert no_broker_answered("within 30 s") == "no broker answered within 30 s: check bootstrap.servers in the config file"
    assert may_not("alice", "read topic 't'") == "user 'alice' may not read topic 't' (the broker's ACLs)"
    assert may_not(None, "describe group 'g'", "DESCRIBE on the group is needed") == (
        "this client may not describe group 'g' (the broker's ACLs: DESCRIBE on the group is needed)")
    assert needs_registry("--value-format avro", "c.ini") == (
        "--value-format avro needs a Schema Registry: set schema.registry.url in [default] (or url in "
        "[schema_registry]) of c.ini")


def test_the_registry_section_named_is_the_one_read():
    assert f"url in [{REGISTRY_SECTION}]" in REGISTRY_URL_SETTING
