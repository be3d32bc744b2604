"""consumer.py --lag: how far a consumer group is behind, per partition, gathered with the AdminClient:
the group's state and members (DescribeGroups), its committed offsets (OffsetFetch) and each partition's
log-end offset (ListOffsets, latest). It reads offsets only: it never joins the group, fetches a message
or commits anything, so looking at a group does not disturb it. Also the rate at which each partition's
lag moves between two looks (for --watch). Rendering is in render.py.
"""

import math
import time
from dataclasses import dataclass, field

from kafka_cli.core.boundary import group_problem
from kafka_cli.views.listing import fetch_metadata, no_answer, timed_out
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.escaping import printable_text
from kafka_cli.core.words import client_named, does_not_exist, may_not

# Kafka's names for a group's states (what kafka-consumer-groups --state prints)
STATE_NAMES = {"STABLE": "Stable", "EMPTY": "Empty", "PREPARING_REBALANCING": "PreparingRebalance",
               "COMPLETING_REBALANCING": "CompletingRebalance", "DEAD": "Dead", "UNKNOWN": "Unknown"}
REBALANCING = {"PreparingRebalance", "CompletingRebalance"}


def check_group(group, origin):
    """A group id from the user (-g, or group.id in the file) that may go to the C client, or ConfigError
    naming `origin`."""
    problem = group_problem(group)
    if problem is not None:
        raise ConfigError(f"{origin}: the group id {problem}")
    return group


def named(group):
    """A group as every message names it: Kafka allows any characters in an id, a terminal obeys some."""
    return f"group '{printable_text(group)}'"


@dataclass(frozen=True)
class Member:
    """A consumer in the group, as its coordinator describes it: the owner a partition's row names."""

    member_id: str
    client_id: str
    host: str


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int  # the group's committed offset, or None (nothing committed yet)
    log_end: int  # the offset the next message will get, or None (could not be read)
    owner: Member  # the member it is assigned to, or None
    error: str = None  # why log_end is missing

    @property
    def lag(self):
        if self.committed is None or self.log_end is None:
            return None
        return max(0, self.log_end - self.committed)


@dataclass(frozen=True)
class GroupLag:
    group: str
    state: str  # Kafka's name: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, Unknown
    group_type: str  # classic or consumer (KIP-848), as the broker says
    coordinator: int  # broker id, or None
    members: tuple  # Member
    partitions: tuple  # PartitionLag, by topic and partition
    taken_at: float = field(default_factory=time.monotonic)
    missing: tuple = ()  # the names -t gave that the cluster does not have (and the group has nothing on), sorted

    @property
    def rebalancing(self):
        return self.state in REBALANCING

    def topic_totals(self):
        """{topic: (sum of the known lags, partitions)} in partition order."""
        totals = {}
        for p in self.partitions:
            lag, count = totals.get(p.topic, (0, 0))
            totals[p.topic] = (lag + (p.lag or 0), count + 1)
        return totals

    @property
    def total(self):
        return sum(p.lag or 0 for p in self.partitions)


def gather_lag(admin, group, selector, timeout, config):
    """The GroupLag of `group` for the topics `selector` picks; CliError naming what is missing or refused."""
    deadline = time.monotonic() + timeout
    # Metadata first: a cluster that does not answer gets its one line here, within --timeout, before any
    # group request (librdkafka can abort the process when a FindCoordinator request times out, issue 4605).
    metadata = fetch_metadata(admin, timeout, config)
    description, committed = ask_group(admin, group, deadline, config, timeout)
    state = STATE_NAMES.get(getattr(description.state, "name", ""), "Unknown")
    members, owners = members_and_owners(description)
    stored = {(tp.topic, tp.partition): tp.offset for tp in committed if tp.error is None and tp.offset >= 0}
    if not stored and not members:
        raise CliError(nothing_to_show(group, state, config))
    wanted = partitions_of_interest(metadata, set(stored) | set(owners), selector)
    missing = missing_names(selector, metadata, set(stored) | set(owners))
    ends = log_end_offsets(admin, wanted, deadline, config, timeout)
    rows = []
    for where in wanted:
        log_end, why = ends.get(where, (None, None))
        rows.append(PartitionLag(*where, committed=stored.get(where), log_end=log_end, owner=owners.get(where),
                                 error=why))
    group_type = getattr(getattr(description, "type", None), "name", "unknown").lower()
    coordinator = description.coordinator.id if description.coordinator is not None else None
    return GroupLag(group, state, group_type, coordinator, members, tuple(rows), missing=missing)


def partitions_of_interest(metadata, known, selector):
    """Every partition of each topic the group has committed offsets on or is assigned (a partition it has
    not reached yet is lag too, though how much depends on its auto.offset.reset), plus the known ones the
    metadata no longer lists (a deleted topic's offsets stay committed), limited to what -t picks."""
    topics = {topic for topic, _ in known if selector.wants(topic)}
    wanted = {where for where in known if where[0] in topics}
    for topic in topics:
        found = metadata.topics.get(topic)
        if found is not None and found.error is None:
            wanted.update((topic, p) for p in found.partitions)
    return sorted(wanted)


def missing_names(selector, metadata, known):
    """The names -t gave that the cluster does not have and the group has no offset or member on (a deleted
    topic's committed offsets are still the group's, and shown), sorted: said as -L says them."""
    theirs = {topic for topic, _ in known}
    return tuple(sorted(name for name in selector.names if name not in metadata.topics and name not in theirs))


def members_and_owners(description):
    """(the members, {(topic, partition): the member it is assigned to})."""
    members, owners = [], {}
    for m in description.members or []:
        member = Member(m.member_id, m.client_id, m.host)
        members.append(member)
        assignment = m.assignment.topic_partitions if m.assignment is not None else []
        for tp in assignment or []:
            owners[tp.topic, tp.partition] = member
    return tuple(members), owners


class _NoCoordinatorYet(Exception):
    """The group's coordinator is not ready (moving, loading, or __consumer_offsets being created): ask again."""


def ask_group(admin, group, deadline, config, timeout):
    """(the group's description, its committed offsets), asked for together; asked again while its
    coordinator is not ready, until --timeout (a broker's first group makes it create __consumer_offsets,
    and the first answers then say COORDINATOR_NOT_AVAILABLE)."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    while True:
        # A long request timeout (issue 4605, above); our own wait still ends at --timeout.
        described = admin.describe_consumer_groups([group], request_timeout=max(timeout, 60))[group]
        offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                                    request_timeout=max(timeout, 60))[group]
        try:
            return (wait(described, deadline, group, config, timeout),
                    wait(offsets, deadline, group, config, timeout).topic_partitions or [])
        except _NoCoordinatorYet as e:
            if time.monotonic() + 0.25 >= deadline:
                raise CliError(f"{named(group)}: no coordinator answered for it within --timeout "
                               f"{timeout:g} s ({e})")
            time.sleep(0.25)


def wait(future, deadline, group, config, timeout):
    """A group request's answer, its refusal as one line, or --timeout's."""
    from confluent_kafka import KafkaError, KafkaException

    try:
        return future.result(max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        raise CliError(timed_out(timeout, config))
    except KafkaException as e:
        err = e.args[0]
        if err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
            raise CliError(may_not(config.get("sasl.username"), f"describe {named(group)}",
                                   "DESCRIBE on the group is needed to see its members and committed offsets"))
        if err.code() in (KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                          KafkaError.NOT_COORDINATOR):
            raise _NoCoordinatorYet(err.name())
        if err.code() == KafkaError.GROUP_ID_NOT_FOUND:
            raise CliError(does_not_exist(named(group), config.get("bootstrap.servers")))
        raise CliError(f"{named(group)}: {no_answer(err, timeout, config)} ({err.name()})")


def nothing_to_show(group, state, config):
    """A group without members or committed offsets we can see. Dead: it does not exist. Empty: the coordinator
    knows it, so it has offsets; a broker leaves out, without a word, the offsets of topics this user may not
    DESCRIBE (seen with a DENY ACL on the topic), and offsets also expire (offsets.retention.minutes)."""
    where = config.get("bootstrap.servers")
    if state != "Empty":
        return (does_not_exist(named(group), where) + ": it has no members and no committed offsets "
                f"(state {state})")
    return (f"{named(group)} on {where} has no members and shows no committed offsets to "
            f"{client_named(config.get('sasl.username'))} (state Empty): they expired, or they are on topics this "
            "user may not describe (the broker's ACLs: DESCRIBE on the topic is needed)")


def log_end_offsets(admin, wanted, deadline, config, timeout):
    """{(topic, partition): (log-end offset, None) or (None, why not)} from ListOffsets (latest)."""
    if not wanted:
        return {}
    from confluent_kafka import KafkaError, KafkaException, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    latest = OffsetSpec.latest()
    futures = admin.list_offsets({TopicPartition(t, p): latest for t, p in wanted},
                                 request_timeout=max(0.1, deadline - time.monotonic()))
    ends = {}
    for tp, future in futures.items():
        try:
            ends[tp.topic, tp.partition] = (future.result(max(0.0, deadline - time.monotonic())).offset, None)
        except TimeoutError:
            raise CliError(timed_out(timeout, config))
        except KafkaException as e:
            err = e.args[0]
            if err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                raise CliError(may_not(config.get("sasl.username"), f"describe topic '{tp.topic}'")
                               + ", so its log-end offsets are unknown")
            ends[tp.topic, tp.partition] = (None, err.str())
    return ends


@dataclass(frozen=True)
class Movement:
    """How one partition's lag moved over the last RATE_WINDOW seconds: messages a second (negative: falling),
    and at that pace the seconds until it reaches 0 (None unless falling); `caught_up` when the group has
    committed everything that was there one commit interval ago (then the rate is 0 and the catch-up time 0:
    what lag is left is the part a commit has not yet covered, not a backlog)."""

    rate: float
    catch_up: float
    caught_up: bool = False


# The span a rate is measured over: long enough to hold a few of the consumers' commits.
RATE_WINDOW = 15.0
# Consumers commit in steps (librdkafka: every auto.commit.interval.ms, 5 s by default), so a group that keeps
# up shows a lag that climbs for up to 5 s and then drops at a commit: a rate taken from two looks that fall on
# different points of that saw reads as growth or fall that is not there (issue 28 saw "+7.2/s" on a group
# that kept up). A group is caught up when its committed offset has reached the log end of one commit
# interval ago, with a second more for the poll batch in hand and the commit's round trip.
COMMIT_INTERVAL = 5.0
COMMIT_SLACK = 1.0


def movements(earlier, now, window=RATE_WINDOW):
    """{(topic, partition): Movement} from each partition's looks among the `earlier` ones (oldest first) at
    most `window` seconds older than `now` (or the latest look, when all are older), and `now`; empty for the
    first look, and without the partitions that have no lag now or in any of those looks, or none yet to judge
    by (see movement())."""
    if not earlier:
        return {}
    inside = [look for look in earlier if now.taken_at - look.taken_at <= window] or earlier[-1:]
    history = {}  # (topic, partition): [(taken_at, log_end, committed)] of the looks that knew its lag
    for look in inside:
        if look.taken_at < now.taken_at:
            for p in look.partitions:
                if p.lag is not None:
                    history.setdefault((p.topic, p.partition), []).append((look.taken_at, p.log_end, p.committed))
    moved = {}
    for p in now.partitions:
        points = history.get((p.topic, p.partition))
        found = movement(points + [(now.taken_at, p.log_end, p.committed)]) if points and p.lag is not None else None
        if found is not None:
            moved[p.topic, p.partition] = found
    return moved


def movement(points):
    """One partition's Movement from its (time, log end, committed offset) at each look, oldest first, now last;
    None while the looks span less than a commit interval and a second (and the lag is not 0): until then a
    commit's step and a trend look alike (measured: a group that kept up read as '-0.3/s, 2 min 53 s')."""
    at, log_end, committed = points[-1]
    lag = max(0, log_end - committed)
    then = log_end_at(points, at - COMMIT_INTERVAL - COMMIT_SLACK)
    if lag == 0 or (then is not None and committed >= then):
        return Movement(0.0, 0.0, caught_up=True)
    if then is None:
        return None
    rate = lag_rate(points)
    return Movement(rate, lag / -rate if rate < 0 else None)


def log_end_at(points, when):
    """The log end offset at time `when`, drawn straight between the looks around it (rounded down), or None
    when no look is that old."""
    for (t0, end0, _), (t1, end1, _) in zip(points, points[1:]):
        if t0 <= when <= t1:
            return math.floor(end0 + (end1 - end0) * (when - t0) / (t1 - t0))
    return None


def lag_rate(points):
    """Messages a second the lag grows (+) or falls (-). With two commits seen, the pace of the log end over
    every look less the pace of the commits from the first commit seen to the last (both ends a commit: the
    saw between them cancels); with none for over a commit interval, the lag's change since the last one;
    otherwise (fewer than two seen) the lag's change over the window."""
    steps = [i for i in range(1, len(points)) if points[i][2] != points[i - 1][2]]
    if steps and points[-1][0] - points[steps[-1]][0] > COMMIT_INTERVAL + COMMIT_SLACK:
        return lag_change(points[steps[-1]:])  # the group stopped committing: what it has cost since
    if len(steps) >= 2:
        (t0, end0, _), (t1, end1, _) = points[0], points[-1]
        (s0, _, c0), (s1, _, c1) = points[steps[0]], points[steps[-1]]
        return (end1 - end0) / (t1 - t0) - (c1 - c0) / (s1 - s0)
    return lag_change(points)


def lag_change(points):
    """The change of the lag from the first of `points` to the last, a second."""
    (t0, end0, c0), (t1, end1, c1) = points[0], points[-1]
    return ((end1 - c1) - (end0 - c0)) / (t1 - t0)


def keep_for_rates(looks, window=RATE_WINDOW):
    """The looks a later rate may start from: those within `window` of the latest (the latest included)."""
    latest = looks[-1].taken_at
    return [look for look in looks if latest - look.taken_at <= window]
