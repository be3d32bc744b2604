"""--lag --watch's RATE and CATCH-UP against simulated groups: a log end that grows at a steady pace, a consumer
that commits what it has read every few seconds (librdkafka's auto-commit), and looks taken every --watch
seconds, fed to movements() and keep_for_rates() as kafka_cli/cli/views.py's watch loop feeds them.

The saw the commits draw in the lag (it climbs between two commits, then drops) must not read as growth or
fall: issue 28 saw "+7.2/s" on a group that kept up."""

import json
import math

import pytest
from hypothesis import given, settings, strategies as st

from kafka_cli.views.lag import COMMIT_INTERVAL, COMMIT_SLACK, GroupLag, PartitionLag, keep_for_rates, movements
from kafka_cli.views.render import lag_json, lag_text

START = 100.0  # the first look, seconds after the production began


def watched(log_end, committed, look_every, until, start=START):
    """[(look, its movement)] of one partition, as --watch sees it: `log_end(t)` and `committed(t)` say the
    partition's offsets at time t; a look every `look_every` seconds from `start` to `until`."""
    looks, seen, at = [], [], start
    while at <= until:
        now = GroupLag("g", "Stable", "classic", 1, (), (PartitionLag("t", 0, committed(at), log_end(at), None),),
                       taken_at=at)
        seen.append((now, movements(looks, now).get(("t", 0))))
        looks = keep_for_rates(looks + [now])
        at += look_every
    return seen


def group(rate, backlog, every, phase, delay=0.0, pace=1.0, last_commit=math.inf):
    """(log end, committed) of a partition produced to at `rate` a second over a `backlog` it started with, read
    `delay` seconds behind the production at `pace` times its rate, `backlog` behind (pace 1: keeping up with a
    standing backlog; more: catching up), committed every `every` seconds from `phase` on, until `last_commit`."""
    def log_end(t):
        return backlog + math.floor(rate * t)

    def position(t):
        return min(log_end(t - delay), math.floor(pace * rate * max(0.0, t - delay)))

    def committed(t):
        last = phase + math.floor((min(t, last_commit) - phase) / every) * every  # the latest commit at or before t
        return position(last)

    return log_end, committed


@settings(deadline=None, max_examples=300)
@given(rate=st.floats(0.1, 5000), every=st.floats(0.2, COMMIT_INTERVAL), phase=st.floats(0, COMMIT_INTERVAL),
       delay=st.floats(0, COMMIT_SLACK * 0.9), look_every=st.floats(0.2, 10))
def test_a_group_that_commits_what_it_reads_every_few_seconds_is_caught_up_with_no_growth(
        rate, every, phase, delay, look_every):
    """Whatever the pace, the commit interval (up to librdkafka's default 5 s), where the looks fall between the
    commits and how often they come: once a look is a commit interval (and a second) old, every look says caught
    up, rate 0."""
    log_end, committed = group(rate, 0, every, phase, delay)
    seen = watched(log_end, committed, look_every, START + 60)
    judged = [(look, moved) for look, moved in seen if look.taken_at - START >= COMMIT_INTERVAL + COMMIT_SLACK]
    assert judged
    for look, moved in judged:
        assert moved.caught_up and moved.rate == 0 and moved.catch_up == 0, (look.taken_at, look.partitions, moved)


@pytest.mark.parametrize("look_every", [0.7, 2.0])
def test_the_saw_of_the_commits_is_there_and_reads_as_no_growth(look_every):
    """The case of issue 28, in numbers: 36 messages a second, commits every 5 s, a look every 0.7 or 2 s. The lag
    climbs to 180 and drops at each commit; the former rate, from the look up to 15 s before, gave up to
    +11.6/s (0.7) and +10.3/s (2) on this group. Now every look from the seventh second on says caught up."""
    log_end, committed = group(36, 0, 5.0, 0.3, 0.1)
    seen = watched(log_end, committed, look_every, START + 40)
    lags = [look.partitions[0].lag for look, _ in seen]
    assert max(lags) >= 140 and min(lags) <= 40  # the saw
    later = [moved for look, moved in seen if look.taken_at >= START + 6]
    assert later and all(m.caught_up and m.rate == 0 for m in later)
    text = lag_text(seen[-1][0], {("t", 0): seen[-1][1]})
    row = next(line for line in text.splitlines() if line.startswith("t ") and line.split()[1] == "0").split()
    assert row[5:8] == ["0/s", "caught", "up"]


@settings(deadline=None, max_examples=300)
@given(rate=st.floats(1, 5000), phase=st.floats(0, COMMIT_INTERVAL), look_every=st.floats(0.2, 1.0),
       backlog_seconds=st.floats(8, 600))
def test_a_group_that_keeps_pace_behind_a_standing_backlog_shows_the_pace_only_to_the_looks_precision(
        rate, phase, look_every, backlog_seconds):
    """Not caught up (it is `backlog_seconds` of messages behind), and its lag neither grows nor falls: the rate
    shown is 0 but for what the looks cannot tell apart, a commit being seen up to one look after it happened
    (at most rate x look interval / (commit interval - look interval), where the old rate from two looks 15 s
    apart could be off by rate x 5 / 15 at any look interval), plus a message or two of rounding."""
    log_end, committed = group(rate, math.ceil(rate * backlog_seconds), COMMIT_INTERVAL, phase)
    seen = watched(log_end, committed, look_every, START + 60)
    judged = [moved for look, moved in seen if look.taken_at - START >= 15]
    bound = rate * look_every / (COMMIT_INTERVAL - look_every) + 3 / (COMMIT_INTERVAL - look_every)
    assert judged and all(not m.caught_up and abs(m.rate) <= bound for m in judged), (bound, judged)


@settings(deadline=None, max_examples=200)
@given(rate=st.floats(1, 5000), phase=st.floats(0, COMMIT_INTERVAL), look_every=st.floats(0.2, 5),
       stopped=st.floats(START + 5, START + 40))
def test_a_group_that_stops_committing_shows_the_lag_growing_at_the_production_rate(rate, phase, look_every, stopped):
    """Paused, hung or gone: once no commit has come for a commit interval and a second (and a look has seen
    that), its lag grows by every message produced, and the rate says so, within a message's rounding."""
    log_end, committed = group(rate, 0, COMMIT_INTERVAL, phase, last_commit=stopped)
    seen = watched(log_end, committed, look_every, START + 60)
    last = phase + math.floor((stopped - phase) / COMMIT_INTERVAL) * COMMIT_INTERVAL  # the last commit
    # (and two messages more than it had read: a lag of one message more is within a commit interval yet)
    settled = last + 2 * look_every + COMMIT_INTERVAL + COMMIT_SLACK + 2 / rate
    late = [moved for look, moved in seen if look.taken_at >= settled]
    assert late and all(not m.caught_up and m.catch_up is None and abs(m.rate - rate) <= 2 / COMMIT_INTERVAL
                        for m in late), late


def test_a_group_that_catches_up_falls_at_its_pace_over_the_production_and_says_when():
    """Reading at three times the production over a backlog: the lag falls by twice the production rate, and the
    catch-up time is what is left at that pace; then it is caught up."""
    log_end, committed = group(100, 6000, COMMIT_INTERVAL, 0.5, pace=3.0)
    seen = watched(log_end, committed, 1.0, START + 45, start=1.0)
    falling = [(look.partitions[0].lag, m) for look, m in seen if look.taken_at >= 16 and look.partitions[0].lag > 1200]
    assert falling and all(abs(m.rate + 200) <= 200 * 0.25 for _, m in falling), falling
    assert all(abs(m.catch_up - lag / -m.rate) < 1e-6 for lag, m in falling)
    assert seen[-1][1].caught_up and seen[-1][1].rate == 0  # (the backlog is gone after 30 s)


def test_json_says_caught_up_and_a_catch_up_time_of_0():
    log_end, committed = group(36, 0, 5.0, 0.3, 0.1)
    look, moved = watched(log_end, committed, 1.0, START + 10)[-1]
    row = json.loads(lag_json(look, {("t", 0): moved}))["partitions"][0]
    assert (row["rate"], row["catch_up_seconds"], row["caught_up"]) == (0, 0, True)
    first = json.loads(lag_json(look, {}))["partitions"][0]
    assert (first["rate"], first["catch_up_seconds"], first["caught_up"]) == (None, None, None)


@pytest.mark.parametrize("every", [1.0, 5.0])
def test_a_lag_left_by_a_commit_interval_is_not_called_a_backlog_but_a_larger_one_is(every):
    """The line between the two: committed the log end of 6 s ago (commit interval and slack) is caught up;
    one message short of it is not."""
    now = 50.0
    log_end = lambda t: math.floor(10 * t)  # noqa: E731 (10 a second)
    for short, caught in ((0, True), (1, False)):
        earlier = [GroupLag("g", "Stable", "classic", 1, (),
                            (PartitionLag("t", 0, log_end(t) - 300, log_end(t), None),), taken_at=t)
                   for t in (now - 12, now - 12 + every)]
        target = log_end(now - COMMIT_INTERVAL - COMMIT_SLACK) - short
        now_look = GroupLag("g", "Stable", "classic", 1, (), (PartitionLag("t", 0, target, log_end(now), None),),
                            taken_at=now)
        assert movements(earlier, now_look)[("t", 0)].caught_up is caught
