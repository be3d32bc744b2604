"""consumer.py -L without a broker: -t checked before the C client sees it, the health judgement of each
partition, the text and JSON renderings, and the gathering against a stand-in AdminClient (the real broker
is in tests/integration/test_listing.py)."""

import json
from concurrent.futures import Future
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from kafka_cli.cli import consumer
from kafka_cli.views.listing import (Broker, Listing, PartitionState, TopicState, gather_listing,
                                     missing_topics, topic_selector)
from kafka_cli.config.ini import ClientConfig
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.views.render import listing_json, listing_text


def partition(pid, leader, replicas, isr):
    return PartitionState(pid, leader, tuple(replicas), tuple(isr), None)


def listing(*topics):
    return Listing("cid", 2, "b:1/2", (Broker(1, "h1", 9092), Broker(2, "h2", 9092), Broker(3, "h3", 9092)), topics)


ORDERS = TopicState("orders", False, (
    partition(0, 1, [1, 2, 3], [1, 2, 3]),
    partition(1, 2, [2, 3, 1], [2, 3]),        # under-replicated, still at min ISR
    partition(2, 3, [3, 1, 2], [3]),           # below min ISR
    partition(3, -1, [1, 2, 3], []),           # no leader
), 2, None)


def test_health_names_each_kind_of_trouble_and_fails_only_for_no_leader_or_below_min_isr():
    health = listing(ORDERS).health()
    assert (health.topics, health.partitions) == (1, 4)
    assert health.under_replicated == (("orders", 1), ("orders", 2), ("orders", 3))
    assert health.below_min_isr == (("orders", 2), ("orders", 3))
    assert health.leaderless == (("orders", 3),)
    assert health.failing
    only_under = TopicState("t", False, (partition(0, 1, [1, 2, 3], [1, 2]),), 2, None)
    assert not listing(only_under).health().failing


def test_unknown_min_isr_judges_by_replication_alone():
    topic = TopicState("t", False, (partition(0, 1, [1, 2, 3], [1]),), None, None)
    health = listing(topic).health()
    assert health.under_replicated == (("t", 0),) and health.below_min_isr == () and not health.failing


def test_text_marks_the_controller_and_names_every_unhealthy_partition():
    text = listing_text(listing(ORDERS))
    assert "  2  h2:9092  controller" in text.splitlines()
    assert "orders  4 partitions  replication factor 3  min.insync.replicas 2" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("    ") and line.split()[0].isdigit()}
    assert rows["1"].split()[1:] == ["2", "2,3,1", "2,3", "under-replicated"]
    assert rows["3"].split()[1:4] == ["-", "1,2,3", "-"] and rows["3"].endswith("no leader")
    assert text.splitlines()[-1] == ("1 topic, 4 partitions: 3 under-replicated (orders [1], orders [2], orders [3]); "
                                     "2 below min.insync.replicas (orders [2], orders [3]); "
                                     "1 without a leader (orders [3])")


def test_json_is_one_document_with_stable_field_names():
    out = listing_json(listing(ORDERS))
    assert out.count("\n") == 1
    doc = json.loads(out)
    assert set(doc) == {"cluster_id", "controller_id", "brokers", "topics", "missing_topics", "summary"}
    assert doc["missing_topics"] == []
    assert doc["brokers"][1] == {"id": 2, "host": "h2", "port": 9092, "controller": True}
    topic = doc["topics"][0]
    assert {k: topic[k] for k in ("name", "internal", "partition_count", "replication_factor", "min_insync_replicas")} == \
        {"name": "orders", "internal": False, "partition_count": 4, "replication_factor": 3, "min_insync_replicas": 2}
    assert topic["partitions"][3] == {"partition": 3, "leader": None, "replicas": [1, 2, 3], "isr": [],
                                      "under_replicated": True, "below_min_insync_replicas": True,
                                      "leaderless": True, "error": None}
    assert doc["summary"]["leaderless"] == [{"topic": "orders", "partition": 3}]
    assert doc["summary"]["healthy"] is False


def test_a_broker_host_with_an_escape_sequence_is_shown_escaped():
    hostile = Listing("c\x1b[2J", 1, "x", (Broker(1, "evil\x1b]0;title\x07", 1),), ())
    text = listing_text(hostile)
    assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text
    assert "\x1b" not in listing_json(hostile)


@pytest.mark.parametrize("value, reason", [
    ("a\x00b", "NUL"), ("bad\udcffname", "not valid UTF-8"), ("no spaces", "Kafka's rule"), ("^(", "not a regular"),
    ("^a\x00", "NUL"), ("x" * 250, "at most 249")])
def test_topic_values_are_checked_before_the_client_sees_them(value, reason):
    with pytest.raises(ConfigError, match=reason):
        topic_selector([value])


@pytest.mark.parametrize("value", ["^(\x1b[2J", "^" + "(" * 1000, "^a{99999999999}"])
def test_a_bad_pattern_is_one_line_that_does_not_repeat_it(value):
    """As consumer.py's -t: RecursionError and OverflowError from re are reasons too, and the value (it may hold
    what a terminal obeys) is not echoed."""
    with pytest.raises(ConfigError) as raised:
        topic_selector([value])
    assert raised.value.message.startswith("-t: the topic pattern is not a regular expression")
    assert value not in raised.value.message and "\x1b" not in raised.value.message


def test_selector_names_and_patterns():
    selector = topic_selector(["orders", "^audit-"])
    assert [n for n in ("orders", "orders2", "audit-1", "x-audit-1") if selector.wants(n)] == ["orders", "audit-1"]
    assert topic_selector([]).everything


class FakeAdmin:
    """The two AdminClient calls -L makes, answering from a fixed cluster."""

    def __init__(self, topics, min_isr):
        self.topics, self.min_isr, self.described = topics, min_isr, []

    def list_topics(self, timeout):
        parts = {name: SimpleNamespace(topic=name, error=None, partitions={
            i: SimpleNamespace(id=i, leader=1, replicas=[1], isrs=[1], error=None) for i in range(n)})
            for name, n in self.topics.items()}
        return SimpleNamespace(topics=parts, brokers={1: SimpleNamespace(id=1, host="h", port=1)}, cluster_id="c",
                               controller_id=1, orig_broker_id=-1, orig_broker_name="sasl_ssl://h:1/bootstrap")

    def describe_configs(self, resources, request_timeout):
        self.described.append([(r.restype.name, r.name) for r in resources])
        answers = {}
        for r in resources:
            answers[r] = Future()
            answers[r].set_result({"min.insync.replicas": SimpleNamespace(value=str(self.min_isr))})
        return answers


def test_gathering_hides_internal_topics_unless_asked_and_reads_min_isr_for_the_listed_ones_only():
    admin = FakeAdmin({"b": 2, "a": 1, "__consumer_offsets": 5}, 2)
    config = ClientConfig("c.ini")
    got = gather_listing(admin, topic_selector([]), False, 5, config)
    assert [t.name for t in got.topics] == ["a", "b"]
    # with the configs of the broker that answered the metadata (reached by its bootstrap address), so that the
    # request goes to that live broker, not to a controller that may have died
    assert admin.described == [[("TOPIC", "a"), ("TOPIC", "b"), ("BROKER", "1")]]
    assert all(t.min_isr == 2 for t in got.topics)
    assert [t.name for t in gather_listing(admin, topic_selector([]), True, 5, config).topics] == \
        ["__consumer_offsets", "a", "b"]
    assert [t.name for t in gather_listing(admin, topic_selector(["^_"]), True, 5, config).topics] == \
        ["__consumer_offsets"]


def test_named_topics_that_do_not_exist_are_named_and_the_others_listed_all_the_same():
    admin = FakeAdmin({"orders": 3, "audit": 1}, 1)
    got = gather_listing(admin, topic_selector(["orders", "audit-log", "^aud", "nope"]), False, 5,
                         ClientConfig("c.ini"))
    assert [t.name for t in got.topics] == ["audit", "orders"] and got.missing == ("audit-log", "nope")
    assert admin.described == [[("TOPIC", "audit"), ("TOPIC", "orders"), ("BROKER", "1")]]
    doc = json.loads(listing_json(got))
    assert doc["missing_topics"] == ["audit-log", "nope"] and [t["name"] for t in doc["topics"]] == ["audit", "orders"]
    assert doc["summary"]["topics"] == 2 and doc["summary"]["healthy"]
    none = gather_listing(admin, topic_selector(["nope"]), False, 5, ClientConfig("c.ini"))
    assert none.topics == () and none.missing == ("nope",)


@pytest.mark.parametrize("names, line", [
    (("audit-log",), "topic 'audit-log' does not exist on b:9092"),
    (("a", "b"), "topics 'a' and 'b' do not exist on b:9092"),
    (("a", "b", "c"), "topics 'a', 'b' and 'c' do not exist on b:9092")])
def test_the_line_for_missing_topics(names, line):
    assert missing_topics(names, "b:9092") == line


def test_the_answering_broker_is_named_by_its_id_as_the_brokers_list_shows_it():
    """librdkafka names a broker it reached through its bootstrap address ".../bootstrap", whichever it is; -L
    names it by id (issue 28: the doc showed ".../3", a run printed ".../bootstrap"), and keeps librdkafka's name
    only when no listed broker has that address (a load balancer's)."""
    found = gather_listing(FakeAdmin({"a": 1}, 1), topic_selector([]), False, 5, ClientConfig("c.ini"))
    assert found.answered_by == "sasl_ssl://h:1/bootstrap" and found.answered_by_id == 1
    assert listing_text(found).splitlines()[0] == "cluster c (metadata from broker 1 at h:1)"
    elsewhere = Listing("c", 1, "sasl_ssl://lb:9093/bootstrap", (Broker(1, "h", 1),), ())
    assert listing_text(elsewhere).splitlines()[0] == "cluster c (metadata from sasl_ssl://lb:9093/bootstrap)"


def test_singular_and_plural_forms():
    """'1 topic', '1 partition', '1 broker' (issue 28 found '1 lines skipped' elsewhere)."""
    one = Listing("c", 1, "x", (Broker(1, "h", 1),), (TopicState("t", False, (partition(0, 1, [1], [1]),), 1, None),))
    text = listing_text(one)
    assert "1 broker:" in text and "1 topic:" in text and "  t  1 partition  replication factor 1" in text
    assert text.splitlines()[-1].startswith("1 topic, 1 partition: 0 under-replicated")
    two = listing(ORDERS, TopicState("u", False, (partition(0, 1, [1], [1]),), 1, None))
    assert "3 brokers:" in listing_text(two) and "2 topics:" in listing_text(two)
    assert listing_text(two).splitlines()[-1].startswith("2 topics, 5 partitions: ")


@pytest.mark.parametrize("args, says", [
    (["-L", "--lag"], "give one of them"), (["--all"], "--all goes with -L"), (["-L", "-n", "3"], "-n: not with -L"),
    (["-L", "-g", "x"], "-g: not with -L"), (["-L", "--watch", "1"], "--watch: not with -L"),
    (["-L", "-f", "verbose"], "text or json"), (["-L", "--timeout", "0"], "more than 0"),
    (["-L", "-t", "bad name"], "Kafka's rule"), (["--lag", "--all"], "--all: not with --lag")])
def test_option_combinations_that_make_no_sense_are_usage_errors(write_config, args, says):
    config = write_config("bootstrap.servers=127.0.0.1:1\n")
    result = CliRunner().invoke(consumer.main, [config, *args])
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_timeout_for_the_views_is_refused_as_the_producer_refuses_it(write_config, value):
    """Issue 28: '--timeout 0 refused by the producer and accepted by the consumer'. -L and --lag take the same
    rule, in the same words."""
    from kafka_cli.cli import producer

    config = write_config("bootstrap.servers=127.0.0.1:1\n")
    said = [CliRunner().invoke(command, [config, *args, "--timeout", value])
            for command, args in ((producer.main, []), (consumer.main, ["-L"]), (consumer.main, ["--lag", "-g", "g"]))]
    assert [r.exit_code for r in said] == [2, 2, 2]
    last = [r.output.strip().splitlines()[-1] for r in said]
    assert last[0].startswith("Error: Invalid value for '--timeout'") and last == [last[0]] * 3, last
