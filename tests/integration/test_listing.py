"""consumer.py -L against the real broker: the listing equals what the admin API reports, field by field,
over PLAINTEXT and SASL_SSL (and prints no secret); -t with names and ^patterns; internal topics only with
--all; and on the three-node cluster a killed node: its partitions under-replicated (exit 0 while every
partition keeps min.insync.replicas), exit 1 for a partition without a leader or below min.insync.replicas,
exit 0 again once the node is back. The cluster is left whole: node restarted, every replica in sync."""

import json
import re
import uuid

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from local_kafka.broker import SilentLogger

from .cluster_load import wait_for
from .scripts import lines_of, no_traceback, run_script


def admin_view(make_admin, names):
    """{topic: (min.insync.replicas, [(partition, leader, replicas, isr)])} straight from the admin API, through a
    new client each time, as a new consumer.py has (one made before a node died may keep asking that node)."""
    admin = make_admin()
    metadata = admin.list_topics(timeout=30)
    # with one broker's own configs in it, the request goes to that broker (here the one that just answered),
    # not to the controller of the metadata, which may be a node that has just died
    configs = admin.describe_configs([ConfigResource(ResourceType.TOPIC, n) for n in names]
                                     + [ConfigResource(ResourceType.BROKER, str(answered_by(metadata)))])
    min_isr = {r.name: int(f.result(30)["min.insync.replicas"].value) for r, f in configs.items()
               if r.restype == ResourceType.TOPIC}
    return metadata, {n: (min_isr[n], [(p.id, p.leader, list(p.replicas), list(p.isrs))
                                       for _, p in sorted(metadata.topics[n].partitions.items())]) for n in names}


def answered_by(metadata):
    """The id of the broker that answered (librdkafka says -1 for one reached by its bootstrap address)."""
    if metadata.orig_broker_id >= 0:
        return metadata.orig_broker_id
    address = metadata.orig_broker_name.rsplit("/", 1)[0].split("://")[-1]
    return next(b.id for b in metadata.brokers.values() if f"{b.host}:{b.port}" == address)


def listed(doc):
    return {t["name"]: (t["min_insync_replicas"], [(p["partition"], p["leader"] if p["leader"] is not None else -1,
                                                    p["replicas"], p["isr"]) for p in t["partitions"]])
            for t in doc["topics"]}


def create(admin, prefix, partitions, replication_factor=1, config=None):
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor, config=config or {})
    admin.create_topics([topic], operation_timeout=30)[name].result(60)
    return name


def test_the_listing_is_what_the_admin_api_reports(kafka, config_file, listener):
    def make_admin():  # brokers advertise each listener under its own address
        return AdminClient(kafka.client_settings(listener))

    admin = make_admin()
    prefix = f"listing-{uuid.uuid4().hex[:8]}"
    names = sorted([create(admin, prefix, 3), create(admin, prefix, 1), create(admin, prefix, 2)])
    result = run_script("consumer.py", config_file, "-L", "-t", f"^{prefix}-", "-f", "json")
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    doc = json.loads(result.stdout)
    metadata, expected = admin_view(make_admin, names)
    assert listed(doc) == expected and [t["name"] for t in doc["topics"]] == names
    assert doc["brokers"] == [{"id": b.id, "host": b.host, "port": b.port, "controller": b.id == metadata.controller_id}
                              for _, b in sorted(metadata.brokers.items())]
    assert doc["cluster_id"] == metadata.cluster_id and doc["controller_id"] == metadata.controller_id
    assert doc["summary"] == {"topics": 3, "partitions": 6, "under_replicated": [], "below_min_insync_replicas": [],
                              "leaderless": [], "healthy": True}
    text = run_script("consumer.py", config_file, "-L", "-t", names[0], "-t", names[2])
    assert text.returncode == 0 and text.stderr == b"" and no_traceback(text)
    out = lines_of(text.stdout)
    # the broker that answered, by the id and address the brokers' list shows (librdkafka's own name for it may
    # be ".../bootstrap")
    answering = re.fullmatch(r"cluster (\S+) \(metadata from broker (\d+) at (\S+)\)", out[0])
    assert answering and answering[1] == metadata.cluster_id, out[0]
    assert [line for line in out[2:2 + len(doc["brokers"])]
            if line.split()[:2] == [answering[2], answering[3]]], out
    assert [line.split()[0] for line in out if line.startswith(f"  {prefix}")] == [names[0], names[2]]
    assert out[-1] == (f"2 topics, {len(expected[names[0]][1]) + len(expected[names[2]][1])} partitions: "
                       "0 under-replicated; 0 below min.insync.replicas; 0 without a leader")
    secrets = getattr(kafka, "passwords", {}).values()
    assert not [s for s in secrets if s.encode() in result.stdout + text.stdout + text.stderr]


def test_internal_topics_only_with_all_and_a_missing_topic_is_one_line(kafka, group):
    # a committed offset makes sure __consumer_offsets exists
    assert run_script("consumer.py", kafka.plaintext_config, "-g", group, "-e", "-t", "topic_0").returncode == 0
    hidden = json.loads(run_script("consumer.py", kafka.plaintext_config, "-L", "-f", "json").stdout)
    shown = json.loads(run_script("consumer.py", kafka.plaintext_config, "-L", "--all", "-f", "json").stdout)
    assert not [t for t in hidden["topics"] if t["name"].startswith("__")]
    internal = [t for t in shown["topics"] if t["internal"]]
    assert "__consumer_offsets" in [t["name"] for t in internal]
    assert {t["name"] for t in shown["topics"]} - {t["name"] for t in internal} == {t["name"] for t in hidden["topics"]}
    missing = run_script("consumer.py", kafka.plaintext_config, "-L", "-t", "no-such-topic-here")
    assert missing.returncode == 1 and missing.stdout == b""
    assert lines_of(missing.stderr) == [f"Error: topic 'no-such-topic-here' does not exist on {kafka.plaintext_bootstrap}"]


def test_named_topics_that_do_not_exist_are_named_after_the_listing_of_the_others(kafka):
    """Issue 28: `-L -t orders -t audit-log` with audit-log missing showed nothing for orders. Now it lists
    orders, names audit-log on stderr, exit 1; -f json lists the same and has `missing_topics`."""
    text = run_script("consumer.py", kafka.plaintext_config, "-L", "-t", "topic_0", "-t", "no-such-topic-here")
    assert text.returncode == 1 and no_traceback(text)
    assert lines_of(text.stderr) == [f"Error: topic 'no-such-topic-here' does not exist on {kafka.plaintext_bootstrap}"]
    out = lines_of(text.stdout)
    assert out[2 + len(kafka.admin().list_topics(timeout=30).brokers)] == "1 topic:"
    assert [line.split()[0] for line in out if line.startswith("  topic_0 ")] == ["topic_0"]
    assert out[-1].startswith("1 topic, ") and out[-1].endswith("0 below min.insync.replicas; 0 without a leader")
    doc = run_script("consumer.py", kafka.plaintext_config, "-L", "-t", "topic_0", "-t", "nope-b", "-t", "nope-a",
                     "-f", "json")
    assert doc.returncode == 1 and lines_of(doc.stderr) == [
        f"Error: topics 'nope-a' and 'nope-b' do not exist on {kafka.plaintext_bootstrap}"]
    found = json.loads(doc.stdout)
    assert [t["name"] for t in found["topics"]] == ["topic_0"] and found["missing_topics"] == ["nope-a", "nope-b"]
    assert found["summary"]["healthy"] is True


def listing(cluster, prefix, config=None):
    result = run_script("consumer.py", config or cluster.plaintext_config, "-L", "-t", f"^{prefix}", "-f", "json")
    assert result.stderr == b"" and result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def expected_summary(expected):
    """The summary -L must print, worked out here from the admin API's answer."""
    under, below, leaderless = [], [], []
    for name, (min_isr, partitions) in sorted(expected.items()):
        for p, leader, replicas, isr in partitions:
            spot = {"topic": name, "partition": p}
            under += [spot] if len(isr) < len(replicas) else []
            below += [spot] if len(isr) < min_isr else []
            leaderless += [spot] if leader < 0 else []
    return {"topics": len(expected), "partitions": sum(len(p) for _, p in expected.values()),
            "under_replicated": under, "below_min_insync_replicas": below, "leaderless": leaderless,
            "healthy": not (below or leaderless)}


def back_whole(cluster, victim, names):
    """The victim running again and every replica in sync: the shared cluster as the next test expects it."""
    if not cluster.node(victim).running():
        cluster.restart(victim)
    present = cluster.admin().list_topics(timeout=30).topics
    for topic in (*names, "topic_0", "__consumer_offsets"):
        if topic in present:
            cluster.wait_full_isr(topic, timeout=120)


def whole_as_every_node_sees_it(cluster, victim, names):
    """True once each node's own metadata (asked of that node) lists the victim among the brokers and every
    partition of `names` led, with all its replicas in sync: whichever node a new consumer.py asks then knows
    the cluster whole. back_whole() waits for that as one node sees it; the others follow a moment later."""
    for node_id, node in cluster.nodes.items():
        try:
            metadata = AdminClient({"bootstrap.servers": node.plaintext_bootstrap,
                                    "logger": SilentLogger()}).list_topics(timeout=10)
        except KafkaException:
            return False
        if answered_by(metadata) != node_id or victim not in metadata.brokers:
            return False
        for name in names:
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None or any(
                    p.leader < 0 or sorted(p.isrs) != sorted(p.replicas) for p in topic.partitions.values()):
                return False
    return True


@pytest.mark.slow
@pytest.mark.local_broker_only
def test_a_killed_node_under_replicated_then_failing_then_healthy_again(kafka_cluster):
    admin = kafka_cluster.admin()
    prefix = f"listing-{uuid.uuid4().hex[:8]}"
    # (confluent-kafka 2.16 refuses a NewTopic with a replica assignment, so the victim is chosen afterwards)
    spread = create(admin, f"{prefix}-spread", 3, 3)  # RF 3, min ISR 2: one node down leaves 2 in sync
    single = create(admin, f"{prefix}-single", 1, 1, {"min.insync.replicas": "1"})  # on the victim: loses its leader
    pair = create(admin, f"{prefix}-pair", 3, 2, {"min.insync.replicas": "2"})  # RF 2: those on the victim fall below
    names = sorted([spread, pair, single])
    for name in names:
        kafka_cluster.wait_full_isr(name, timeout=60)
    victim = kafka_cluster.leader_of(single, 0)
    on_victim = [p for p, _, replicas, _ in admin_view(kafka_cluster.admin, [pair])[1][pair][1] if victim in replicas]
    assert on_victim, "the broker spreads a 3-partition RF-2 topic over every node"
    try:
        code, doc = listing(kafka_cluster, prefix)
        assert code == 0 and doc["summary"] == expected_summary(admin_view(kafka_cluster.admin, names)[1])
        kafka_cluster.kill(victim)
        # at once, before the controller has fenced the node (its metadata may still name it): an answer, not a hang
        at_once = run_script("consumer.py", kafka_cluster.plaintext_config, "-L", "-t", f"^{prefix}", "--timeout", "10")
        assert at_once.returncode in (0, 1) and at_once.stderr == b"", at_once.stderr

        def shrunk():  # the controller fences the node after broker.session.timeout.ms
            found = admin_view(kafka_cluster.admin, names)[1]
            return found if all(len(isr) == 2 for _, _, _, isr in found[spread][1]) and found[single][1][0][1] < 0 \
                else None

        wait_for(shrunk, 90, "the killed node's replicas out of sync and the single replica's partition leaderless")
        code, doc = listing(kafka_cluster, f"{prefix}-spread")  # only the RF-3 topic: 2 of 3 in sync, min ISR 2
        assert code == 0 and len(doc["summary"]["under_replicated"]) == 3 and doc["summary"]["healthy"]
        assert doc["summary"] == expected_summary(admin_view(kafka_cluster.admin, [spread])[1])
        code, doc = listing(kafka_cluster, prefix, kafka_cluster.sasl_ssl_config)
        now = admin_view(kafka_cluster.admin, names)[1]
        assert listed(doc) == now and doc["summary"] == expected_summary(now)
        assert code == 1 and {"topic": single, "partition": 0} in doc["summary"]["leaderless"]
        assert [{"topic": pair, "partition": p} for p in on_victim] == \
            [spot for spot in doc["summary"]["below_min_insync_replicas"] if spot["topic"] == pair]
        text = run_script("consumer.py", kafka_cluster.plaintext_config, "-L", "-t", f"^{prefix}")
        assert text.returncode == 1 and no_traceback(text)
        assert f"1 without a leader ({single} [0])" in lines_of(text.stdout)[-1]
        assert victim not in [b["id"] for b in doc["brokers"]]
    finally:
        back_whole(kafka_cluster, victim, names)
    wait_for(lambda: whole_as_every_node_sees_it(kafka_cluster, victim, names), 60,
             "every node's own metadata: the victim back among the brokers, every replica in sync")
    code, doc = listing(kafka_cluster, prefix)
    assert code == 0 and doc["summary"] == expected_summary(admin_view(kafka_cluster.admin, names)[1])
    assert doc["summary"]["under_replicated"] == [] and victim in [b["id"] for b in doc["brokers"]]
