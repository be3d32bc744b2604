"""consumer.py --lag without a broker: the group id checked before the C client sees it, the lag rows from
a stand-in AdminClient (owners, totals, a group that does not exist, a group the credentials may not
describe), the rate and catch-up time between two looks, the renderings, and the house rules for
kafka_cli/cli/views.py (the real broker is in tests/integration/test_lag.py)."""

import json
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from confluent_kafka import ConsumerGroupState, KafkaError, KafkaException, TopicPartition

from kafka_cli.cli import consumer
from kafka_cli.views.listing import topic_selector
from kafka_cli.config.ini import ClientConfig
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.views.lag import (GroupLag, Member, Movement, PartitionLag, check_group, gather_lag, keep_for_rates,
                                movements)
from kafka_cli.views.render import duration, lag_json, lag_text


ROOT = Path(__file__).resolve().parents[2]


def done(value=None, error=None):
    future = Future()
    if error is not None:
        future.set_exception(KafkaException(KafkaError(error)))
    else:
        future.set_result(value)
    return future


class FakeAdmin:
    """The AdminClient calls --lag makes, answering for one group on topic `t` (3 partitions, log end 100)."""

    def __init__(self, committed, members=(), state=ConsumerGroupState.STABLE, describe_error=None):
        self.committed, self.members, self.state, self.describe_error = committed, members, state, describe_error
        self.calls = []

    def list_topics(self, timeout):
        self.calls.append("list_topics")
        return SimpleNamespace(topics={"t": SimpleNamespace(error=None, partitions={0: None, 1: None, 2: None})})

    def describe_consumer_groups(self, groups, request_timeout):
        self.calls.append("describe_consumer_groups")
        members = [SimpleNamespace(member_id=f"m{i}", client_id=f"c{i}", host=f"/10.0.0.{i}", assignment=SimpleNamespace(
            topic_partitions=[TopicPartition("t", p) for p in parts])) for i, parts in enumerate(self.members)]
        description = SimpleNamespace(state=self.state, members=members, type=SimpleNamespace(name="CLASSIC"),
                                      coordinator=SimpleNamespace(id=1))
        return {groups[0]: done(description, self.describe_error)}

    def list_consumer_group_offsets(self, requests, request_timeout):
        self.calls.append("list_consumer_group_offsets")
        tps = [TopicPartition("t", p, o) for p, o in self.committed.items()]
        tps += [TopicPartition(topic, 0, o) for topic, o in getattr(self, "committed_elsewhere", {}).items()]
        return {requests[0].group_id: done(SimpleNamespace(topic_partitions=tps))}

    def list_offsets(self, wanted, request_timeout):
        self.calls.append("list_offsets")
        return {tp: done(SimpleNamespace(offset=100)) for tp in wanted}


CONFIG = ClientConfig("c.ini")
CONFIG.set("bootstrap.servers", "b:9092", "file")


def test_rows_owners_and_totals_and_nothing_but_reads():
    admin = FakeAdmin({0: 40, 1: 100}, members=[[0], [1, 2]])
    lag = gather_lag(admin, "g", topic_selector([]), 5, CONFIG)
    assert [(p.partition, p.committed, p.log_end, p.lag, p.owner.client_id) for p in lag.partitions] == \
        [(0, 40, 100, 60, "c0"), (1, 100, 100, 0, "c1"), (2, None, 100, None, "c1")]
    assert lag.total == 60 and lag.topic_totals() == {"t": (60, 3)} and lag.state == "Stable"
    assert set(admin.calls) == {"list_topics", "describe_consumer_groups", "list_consumer_group_offsets", "list_offsets"}


def test_a_group_that_does_not_exist_is_one_line_naming_it():
    with pytest.raises(CliError, match="group 'nope' does not exist on b:9092"):
        gather_lag(FakeAdmin({}, state=ConsumerGroupState.DEAD), "nope", topic_selector([]), 5, CONFIG)


def test_a_group_the_credentials_may_not_describe_is_one_line_naming_the_permission():
    config = ClientConfig("c.ini")
    config.set("sasl.username", "bob", "file")
    admin = FakeAdmin({0: 1}, describe_error=KafkaError.GROUP_AUTHORIZATION_FAILED)
    with pytest.raises(CliError, match="user 'bob' may not describe group 'g' .*DESCRIBE on the group"):
        gather_lag(admin, "g", topic_selector([]), 5, config)


@pytest.mark.parametrize("group, reason", [("a\x00b", "NUL"), ("a\udcffb", "not valid UTF-8"), ("", "empty")])
def test_a_group_id_the_c_client_cannot_take_is_refused_first(group, reason):
    with pytest.raises(ConfigError, match=reason):
        check_group(group, "-g")


def test_a_bad_group_id_is_exit_2_with_one_line(write_config):
    config = write_config("bootstrap.servers=127.0.0.1:1\n")
    result = CliRunner().invoke(consumer.main, [config, "--lag", "-g", "a\x00b"])
    assert result.exit_code == 2 and result.output.endswith(
        "Error: Invalid value for '-g' / '--group': the group id holds a NUL character (at position 1)\n")


def test_no_group_anywhere_says_where_to_give_one(write_config):
    config = write_config("bootstrap.servers=127.0.0.1:1\n")
    result = CliRunner().invoke(consumer.main, [config, "--lag"])
    assert result.exit_code == 2 and "-g ID, or group.id in the [consumer] section" in result.output


def look(lags, at):
    """A look at partitions whose log end stands at 1000 (nothing produced): their lags move by commits alone."""
    rows = tuple(PartitionLag("t", p, 1000 - lag if lag is not None else None, 1000, None) for p, lag in enumerate(lags))
    return GroupLag("g", "Stable", "classic", 1, (), rows, taken_at=at)


def test_movement_sign_and_catch_up_time():
    moved = movements([look([100, 50, 10, None, 5], 4.0)], look([80, 70, 10, 5, 0], 12.0))
    assert moved[("t", 0)].rate == -2.5 and moved[("t", 0)].catch_up == 32
    assert moved[("t", 1)].rate == 2.5 and moved[("t", 1)].catch_up is None
    assert moved[("t", 2)] == Movement(0, None) and ("t", 3) not in moved  # standing, behind: not caught up
    assert moved[("t", 4)] == Movement(0, 0, caught_up=True)  # nothing left to catch up
    assert movements([], look([1], 1.0)) == {}


def test_no_rate_until_the_looks_span_a_commit_interval():
    """Within the first commit interval and a second a commit's step and a trend look alike: no rate, but for a
    lag of 0 (caught up whatever the history)."""
    early = movements([look([100, 0], 10.0)], look([80, 0], 12.0))
    assert ("t", 0) not in early and early[("t", 1)].caught_up
    later = movements([look([100, 0], 10.0), look([90, 0], 12.0)], look([80, 0], 16.0))
    assert later[("t", 0)].rate == -2.5  # the pace of the commits seen at 12 s and 16 s


def test_the_rate_spans_the_window_not_one_step_of_commits():
    """Commits come in steps: lag 100 stands, then drops to 40 at one commit; over the window it is a pace (one
    commit seen: no pace of commits to measure, so the lag's own change)."""
    looks = [look([100], t) for t in (0.0, 2.0, 4.0)] + [look([40], 6.0)]
    now = look([40], 8.0)
    assert movements(looks, now, window=15.0)[("t", 0)].rate == -7.5  # from the look at 0 s
    assert movements(looks, now, window=3.0) == {}  # from the look at 6 s: 2 s of looks, too few to tell
    later = look([40], 12.0)
    assert movements([look([None], 0.0), look([100], 4.0)], later)[("t", 0)].rate == -7.5  # the first known lag
    assert keep_for_rates(looks + [now], window=3.0) == looks[3:] + [now]
    assert keep_for_rates(looks + [now], window=5.0) == looks[2:] + [now]


def test_text_with_rates_and_json_fields():
    before, now = look([100, 50], 2.0), look([80, 70], 12.0)
    owner = Member("m1", "billing-1", "/10.0.0.1")
    now = GroupLag("g", "PreparingRebalance", "classic", 1, (owner,),
                   (now.partitions[0].__class__("t", 0, 20, 100, owner), now.partitions[1]), taken_at=12.0)
    moved = movements([before], now)
    text = lag_text(now, moved)
    assert "rebalancing" in text.splitlines()[0]
    row = next(line for line in text.splitlines() if line.startswith("t ") and line.split()[1] == "0").split()
    assert row[:7] == ["t", "0", "20", "100", "80", "-2.0/s", "40"] and row[-3:] == ["billing-1", "@", "/10.0.0.1"]
    assert "+2.0/s" in text and text.splitlines()[-1].startswith("group total lag 150 over 2 partitions of 1 topic")
    doc = json.loads(lag_json(now, moved))
    assert doc["partitions"][0]["rate"] == -2 and doc["partitions"][0]["catch_up_seconds"] == 40
    assert doc["partitions"][0]["caught_up"] is False
    assert doc["partitions"][0]["owner"] == {"member_id": "m1", "client_id": "billing-1", "host": "/10.0.0.1"}
    assert doc["topics"] == [{"topic": "t", "lag": 150, "partitions": 2}] and doc["total_lag"] == 150


def test_a_client_id_with_an_escape_sequence_is_shown_escaped():
    owner = Member("m", "evil\x1b[2J\u202e", "h")
    text = lag_text(GroupLag("g\x07", "Stable", "classic", 1, (owner,), (PartitionLag("t", 0, 1, 2, owner),)))
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text


@pytest.mark.parametrize("seconds, text", [(0.4, "<1 s"), (8.4, "8 s"), (125, "2 min 5 s"), (7500, "2 h 5 min")])
def test_duration(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize("seconds", ["inf", "1e308", "nan", "86401"])
def test_watch_is_a_number_of_seconds_up_to_a_day(write_config, seconds):
    """inf and 1e308 overflowed time.sleep after the first look; nan was taken and looked without a pause."""
    config = write_config("bootstrap.servers=127.0.0.1:1\n")
    result = CliRunner().invoke(consumer.main, [config, "--lag", "-g", "g", "--watch", seconds])
    assert result.exit_code == 2, result.output
    assert result.output.endswith("--watch: must be a number of seconds more than 0 and at most 86400 (a day), "
                                  f"not {float(seconds):g}\n")


def test_named_topics_that_do_not_exist_are_named_and_the_others_shown_all_the_same():
    """As -L: `--lag -t t -t gone` shows t's rows and names gone; a topic the cluster no longer has but the group
    still has offsets on (deleted) is the group's, shown with its rows, not called missing."""
    admin = FakeAdmin({0: 40, 1: 100})
    lag = gather_lag(admin, "g", topic_selector(["t", "gone", "^g"]), 5, CONFIG)
    assert [p.topic for p in lag.partitions] == ["t"] * 3 and lag.missing == ("gone",)
    doc = json.loads(lag_json(lag))
    assert doc["missing_topics"] == ["gone"] and doc["total_lag"] == 60
    admin.committed_elsewhere = {"deleted": 7}
    kept = gather_lag(admin, "g", topic_selector(["deleted"]), 5, CONFIG)
    assert kept.missing == () and [(p.topic, p.committed) for p in kept.partitions] == [("deleted", 7)]
    assert json.loads(lag_json(gather_lag(admin, "g", topic_selector([]), 5, CONFIG)))["missing_topics"] == []


def test_lag_singular_and_plural_forms():
    owner = Member("m", "c", "h")
    one = GroupLag("g", "Stable", "classic", 1, (owner,), (PartitionLag("t", 0, 1, 2, owner),))
    text = lag_text(one)
    assert "  1 member  " in text.splitlines()[0]
    assert text.splitlines()[-1] == "group total lag 1 over 1 partition of 1 topic"
    two = GroupLag("g", "Stable", "classic", 1, (owner, owner), (PartitionLag("t", 0, 1, 2, owner),
                                                                 PartitionLag("u", 0, None, 2, owner)))
    assert "  2 members  " in lag_text(two).splitlines()[0]
    assert lag_text(two).splitlines()[-1] == ("group total lag 1 over 2 partitions of 2 topics "
                                              "(1 with nothing committed yet: not counted)")
