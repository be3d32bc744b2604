"""consumer.py --lag: how far a consumer group is behind, per partition, gathered with the AdminClient:
the group's state and members (DescribeGroups), its committed offsets (OffsetFetch) and each partition's
log-end offset (ListOffsets, latest). It reads offsets only: it never joins the group, fetches a message
or commits anything, so looking at a group does not disturb it. Also the rate at which each partition's
lag moves between two looks (for --watch). Rendering is in render.py.
"""

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
    ends = log_end_offsets(admin, wanted, deadline, config, timeout)
    rows = []
    for where in wanted:
        log_end, why = ends.get(where, (None, None))
        rows.append(PartitionLag(*where, committed=stored.get(where), log_end=log_end, owner=owners.get(where),
                                 error=why))
    group_type = getattr(getattr(description, "type", None), "name", "unknown").lower()
    coordinator = description.coordinator.id if description.coordinator is not None else None
    return GroupLag(group, state, group_type, coordinator, members, tuple(rows))


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
    and at that pace the seconds until it reaches 0 (None unless falling and not yet 0)."""

    rate: float
    catch_up: float


# The span a rate is measured over. Consumers commit in steps (librdkafka: every auto.commit.interval.ms,
# 5 s by default), so between two looks a second apart a lag mostly stands still and then drops at once:
# measured over 15 s, three commits, the rate shows a pace rather than the steps.
RATE_WINDOW = 15.0


def movements(earlier, now, window=RATE_WINDOW):
    """{(topic, partition): Movement} from each partition's oldest known lag among the `earlier` looks (oldest
    first) at most `window` seconds older than `now` (or from the latest look, when all are older) to `now`;
    empty for the first look."""
    if not earlier:
        return {}
    inside = [look for look in earlier if now.taken_at - look.taken_at <= window] or earlier[-1:]
    then = {}
    for look in inside:  # a partition's first known lag: one with nothing committed yet has none
        for p in look.partitions:
            if p.lag is not None:
                then.setdefault((p.topic, p.partition), (p.lag, look.taken_at))
    moved = {}
    for p in now.partitions:
        was, at = then.get((p.topic, p.partition), (None, None))
        if was is None or p.lag is None or now.taken_at <= at:
            continue
        rate = (p.lag - was) / (now.taken_at - at)
        moved[p.topic, p.partition] = Movement(rate, p.lag / -rate if rate < 0 and p.lag > 0 else None)
    return moved


def keep_for_rates(looks, window=RATE_WINDOW):
    """The looks a later rate may start from: those within `window` of the latest (the latest included)."""
    latest = looks[-1].taken_at
    return [look for look in looks if latest - look.taken_at <= window]
