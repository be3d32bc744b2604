"""Failover on the three-node cluster: producer.py and consumer.py run as processes, as a user runs them,
while brokers are SIGKILLed, paused, stopped in turn (a rolling restart), or two of three go down.

Every scenario reads the topic back with a plain confluent-kafka consumer and counts lines in and out,
duplicates and per-key order violations (lines are `kN:SEQ`, SEQ counting up per key; see cluster_load.py),
and appends a row to $FAULTS_REPORT when set (see faults_report.py). Every test leaves all three nodes
running with every replica in sync.
"""

import collections
import signal
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException

from .cluster_load import (FEEDER, NO_PRODUCER_ID_SAID, NOT_ENOUGH_REPLICAS_SAID, QUIET, Group, PacedFeed, Script, duplicates,
                           expected_lines, new_topic, order_violations, read_back, restore, stored, stored_total,
                           summary, wait_for, write_lines)
from .faults_report import record
from .scripts import consume

pytestmark = [pytest.mark.slow, pytest.mark.local_broker_only]


def led_elsewhere(cluster, topic, partitions, node_id):
    """True once every one of `partitions` has a leader other than `node_id`: the controller has fenced that node
    (its broker session lapsed) and moved its leaderships, the failover clients must ride out."""
    try:
        return all(cluster.leader_of(topic, p) not in (-1, node_id) for p in partitions)
    except Exception:  # metadata from a node that does not know yet, or a request that timed out: ask again
        return False


def test_leader_killed_mid_produce_and_restarted_every_line_once_in_order(kafka_cluster):
    count, keys = 300_000, 600
    topic = new_topic(kafka_cluster, 6)
    partitions = range(6)
    feeder = subprocess.Popen([sys.executable, "-c", FEEDER, str(count), str(keys), "10000", "0.2"],
                              stdout=subprocess.PIPE)
    producer = Script("producer.py", kafka_cluster.plaintext_config, "-t", topic, "--timeout", "60",
                      stdin=feeder.stdout)
    feeder.stdout.close()
    watcher = Consumer({"bootstrap.servers": kafka_cluster.plaintext_bootstrap, "group.id": "failover-watch",
                        "logger": QUIET})
    victim = None
    try:
        def stored_so_far():
            try:
                sizes = stored(watcher, topic, partitions)
            except KafkaException:  # a new topic: a broker may not know it yet
                return None
            return sizes if sum(sizes.values()) >= 60_000 else None

        sizes = wait_for(stored_so_far, 60, f"60,000 lines stored (producer: {producer.stderr()[-500:]})")
        busiest = max(sizes, key=sizes.get)
        victim = kafka_cluster.leader_of(topic, busiest)
        kafka_cluster.kill(victim)
        killed = time.monotonic()
        # back only once another node leads the partition (no fixed wait): the producer had to fail over
        wait_for(lambda: led_elsewhere(kafka_cluster, topic, [busiest], victim), 60,
                 f"another leader for partition {busiest} after killing node {victim}")
        replaced = time.monotonic()
        kafka_cluster.restart(victim)
        back = time.monotonic()
        exit_code = producer.finish(timeout=180)
        done = producer.ended or time.monotonic()
    finally:
        watcher.close()
        feeder.kill()
        feeder.wait()
        producer.finish(1)
        if victim is not None and not kafka_cluster.node(victim).running():
            kafka_cluster.restart(victim)
    kafka_cluster.wait_full_isr(topic, timeout=120)
    by_partition = read_back(kafka_cluster.plaintext_bootstrap, topic, partitions)
    got = [line for lines in by_partition.values() for line in lines]
    expected = expected_lines(count, keys)
    dupes = duplicates(got)
    missing = len(set(expected) - set(got))
    disorder = sum(order_violations(lines) for lines in by_partition.values())
    err = producer.stderr()
    record("3 nodes: leader of the busiest partition SIGKILLed mid-produce, restarted once another node leads it",
           injected=f"kill -9 node {victim} (leader of partition {busiest}) after {sum(sizes.values()):,} of "
                    f"{count:,} lines were stored; restart on its data/ports once another node led the partition "
                    f"({replaced - killed:.1f} s later; back after {back - killed:.1f} s)",
           lines_in=count, lines_out=len(got), duplicates=dupes, missing=missing, order_violations=disorder,
           exit_code=exit_code, recovery_s=round(done - killed, 1), restarted_node_back_s=round(back - killed, 1),
           producer_done_before_restart=done < back,
           outcome="exactly once, in order" if not (dupes or missing or disorder or exit_code) else "FAILED")
    assert exit_code == 0, err
    assert "Traceback" not in err
    assert summary(err) == (count, 0, 0)
    assert collections.Counter(got) == collections.Counter(expected), f"{missing} missing, {dupes} duplicates"
    assert disorder == 0


def test_leader_paused_until_replaced_producer_and_consumer_both_recover(kafka_cluster):
    count, keys = 60_000, 300
    topic = new_topic(kafka_cluster, 3)
    partitions = range(3)
    group = f"g-failover-{uuid.uuid4().hex[:8]}"
    consumer = Script("consumer.py", kafka_cluster.plaintext_config, "-t", topic, "-g", group)
    # 60,000 lines over ~30 s: the pause falls inside the stream, at both ends
    feeder = subprocess.Popen([sys.executable, "-c", FEEDER, str(count), str(keys), "1000", "0.5"],
                              stdout=subprocess.PIPE)
    producer = Script("producer.py", kafka_cluster.plaintext_config, "-t", topic, "--timeout", "60",
                      stdin=feeder.stdout)
    feeder.stdout.close()
    victim = None
    try:
        wait_for(lambda: len(consumer.lines()) >= 5_000, 60,
                 f"consumer.py printing 5,000 lines (stderr: {consumer.stderr()[-500:]})")
        seen_before = len(consumer.lines())
        victim = kafka_cluster.leader_of(topic, 0)
        coordinator = kafka_cluster.coordinator_of(group)
        kafka_cluster.pause(victim)
        paused = time.monotonic()
        # frozen until the cluster has fenced it and moved every leadership it held (no fixed wait): both
        # scripts must ride out the failover, and then the return of a node that missed it
        wait_for(lambda: led_elsewhere(kafka_cluster, topic, partitions, victim), 60,
                 f"every partition of {topic} led by a node other than the paused node {victim}")
        kafka_cluster.resume(victim)
        resumed = time.monotonic()
        producer_exit = producer.finish(timeout=180)
        produced = producer.ended or time.monotonic()
        wait_for(lambda: set(consumer.lines()) >= set(expected_lines(count, keys)), 180,
                 f"consumer.py printing every line (it has {len(set(consumer.lines())):,}; "
                 f"stderr: {consumer.stderr()[-500:]})")
        caught_up = time.monotonic()
        consumer.proc.send_signal(signal.SIGINT)
        consumer_exit = consumer.finish(timeout=60)
    finally:
        if victim is not None:
            kafka_cluster.resume(victim)
        feeder.kill()
        feeder.wait()
        producer.finish(1)
        consumer.finish(1)
    kafka_cluster.wait_full_isr(topic, timeout=120)
    by_partition = read_back(kafka_cluster.plaintext_bootstrap, topic, partitions)
    stored_lines = [line for lines in by_partition.values() for line in lines]
    printed = consumer.lines()
    expected = expected_lines(count, keys)
    disorder = sum(order_violations(lines) for lines in by_partition.values())
    err = producer.stderr()
    record("3 nodes: leader SIGSTOPped until the others replace it, while producer.py and consumer.py -g run",
           injected=f"SIGSTOP node {victim} (leader of partition 0; group coordinator: node {coordinator}) "
                    f"after the consumer printed {seen_before:,} lines, SIGCONT once no partition was led by it "
                    f"({resumed - paused:.1f} s later)",
           lines_in=count, lines_out=len(stored_lines), duplicates=duplicates(stored_lines),
           printed=len(printed), printed_duplicates=duplicates(printed), order_violations=disorder,
           exit_code=producer_exit, consumer_exit=consumer_exit, pause_s=round(resumed - paused, 1),
           recovery_s=round(caught_up - resumed, 1), producer_done_after_resume_s=round(produced - resumed, 1),
           outcome="both recovered, stored exactly once" if not (producer_exit or consumer_exit or disorder
                                                                 or duplicates(stored_lines)) else "FAILED")
    assert producer_exit == 0, err
    assert "Traceback" not in err and "Traceback" not in consumer.stderr()
    assert summary(err) == (count, 0, 0)
    assert collections.Counter(stored_lines) == collections.Counter(expected)
    assert disorder == 0
    assert consumer_exit == 0, consumer.stderr()
    assert set(printed) == set(expected)  # duplicates are allowed (at-least-once) and counted in the report


def test_rolling_restart_under_load_nothing_lost_order_kept_group_duplicates_counted(kafka_cluster):
    keys = 300
    topic = new_topic(kafka_cluster, 6)
    group = f"g-rolling-{uuid.uuid4().hex[:8]}"
    config = kafka_cluster.plaintext_config
    readers = Group(config, topic, group, 3)
    producer = Script("producer.py", config, "-t", topic, "--timeout", "120", stdin=subprocess.PIPE)
    feed = PacedFeed(producer.proc.stdin, keys, chunk=200, pause=0.2)  # about 1,000 lines a second, all along
    rolled = []
    try:
        wait_for(lambda: len(readers.printed()) >= 2_000, 120,
                 f"the group printing 2,000 lines (stderr: {readers.stderr()})")
        coordinator = kafka_cluster.coordinator_of(group)
        for node_id in sorted(kafka_cluster.nodes):
            began = time.monotonic()
            kafka_cluster.stop_node(node_id)  # SIGTERM: a controlled shutdown moves its leaders away first
            down = time.monotonic()
            kafka_cluster.restart(node_id)
            # the next node goes down only once this one is back in every ISR: never two replicas missing
            kafka_cluster.wait_full_isr(topic, timeout=120)
            kafka_cluster.wait_full_isr("__consumer_offsets", timeout=120)
            rolled.append((node_id, round(down - began, 1), round(time.monotonic() - began, 1)))
        count = feed.stop()
        fed_until = time.monotonic()
        exit_code = producer.finish(timeout=180)
        expected = expected_lines(count, keys)
        readers.wait_printed(expected, 180)
        caught_up = time.monotonic()
        consumer_exits = readers.stop()
    finally:
        feed.stop()
        producer.finish(1)
        readers.stop(1)
        restore(kafka_cluster, [topic])
    by_partition = read_back(kafka_cluster.plaintext_bootstrap, topic, range(6))
    got = [text for lines in by_partition.values() for text in lines]
    disorder = sum(order_violations(lines) for lines in by_partition.values())
    printed = readers.printed()
    across, within = readers.duplicates_between_members()
    err = producer.stderr()
    ok = not (exit_code or any(consumer_exits) or disorder or duplicates(got)) and set(printed) >= set(expected)
    record("3 nodes: rolling restart (each node stopped with SIGTERM, restarted, full ISR before the next) "
           "while producer.py writes ~1,000 lines/s and 3 consumer.py -g read",
           injected="; ".join(f"node {n} down {d} s, back in every ISR {b} s after its stop" for n, d, b in rolled)
                    + f" (group coordinator at the start: node {coordinator})",
           lines_in=count, lines_out=len(got), duplicates=duplicates(got), order_violations=disorder,
           printed=len(printed), printed_duplicates=duplicates(printed), printed_by_two_members=across,
           printed_twice_by_one_member=within, exit_code=exit_code, consumer_exits=consumer_exits,
           recovery_s=max(b for _, _, b in rolled), group_caught_up_after_feed_s=round(caught_up - fed_until, 1),
           outcome=(f"nothing lost, stored once in order; the group printed {duplicates(printed):,} twice "
                    f"({across:,} by a second member after a partition moved)") if ok else "FAILED")
    assert exit_code == 0, err
    assert "Traceback" not in err and "Traceback" not in readers.stderr()
    assert summary(err) == (count, 0, 0)
    assert collections.Counter(got) == collections.Counter(expected)
    assert disorder == 0
    assert consumer_exits == [0, 0, 0], readers.stderr()
    assert set(printed) == set(expected)  # at-least-once: duplicates allowed, counted above


def test_group_coordinator_killed_while_consumers_commit_rerun_skips_nothing(kafka_cluster):
    keys = 200
    topic = new_topic(kafka_cluster, 3)
    group = f"g-coord-kill-{uuid.uuid4().hex[:8]}"
    config = kafka_cluster.plaintext_config
    readers = Group(config, topic, group, 2)
    producer = Script("producer.py", config, "-t", topic, "--timeout", "120", stdin=subprocess.PIPE)
    feed = PacedFeed(producer.proc.stdin, keys, chunk=200, pause=0.2)
    victim = None
    try:
        wait_for(lambda: len(readers.printed()) >= 3_000, 120,
                 f"the group printing 3,000 lines (stderr: {readers.stderr()})")
        victim = kafka_cluster.coordinator_of(group)
        printed_at_kill = len(readers.printed())
        kafka_cluster.kill(victim)
        killed = time.monotonic()
        # the group's offsets move to another node once the controller fences the dead one
        successor = wait_for(lambda: (lambda c: c if c != victim else None)(kafka_cluster.coordinator_of(group)),
                             120, f"a coordinator for {group} other than node {victim}")
        moved = time.monotonic()
        # the members go on printing and committing (every 5 s, to the successor) before they are stopped
        wait_for(lambda: len(readers.printed()) >= printed_at_kill + 8_000, 120,
                 f"the group printing 8,000 more lines after the kill (stderr: {readers.stderr()})")
        consumer_exits = readers.stop()  # mid-stream: the feed still runs, the re-run must take over from here
        first_run = readers.printed()
        kafka_cluster.restart(victim)
        count = feed.stop()
        exit_code = producer.finish(timeout=180)
    finally:
        feed.stop()
        producer.finish(1)
        readers.stop(1)
        restore(kafka_cluster, [topic])
    rerun = consume(config, topic, "-g", group, "-e", timeout=180)
    rerun_lines = rerun.stdout.decode().splitlines()
    expected = expected_lines(count, keys)
    printed = first_run + rerun_lines
    skipped = len(set(expected) - set(printed))
    by_partition = read_back(kafka_cluster.plaintext_bootstrap, topic, range(3))
    got = [text for lines in by_partition.values() for text in lines]
    err = producer.stderr()
    record("3 nodes: group coordinator SIGKILLed while 2 consumer.py -g print and commit; group re-run with -e",
           injected=f"kill -9 node {victim} (coordinator of the group) after {printed_at_kill:,} lines printed; "
                    f"node {successor} took the group over {moved - killed:.1f} s later; members stopped by SIGINT "
                    f"mid-stream; node {victim} restarted",
           lines_in=count, lines_out=len(set(printed)), duplicates=duplicates(printed), skipped=skipped,
           first_run_printed=len(first_run), rerun_printed=len(rerun_lines), stored=len(got),
           stored_duplicates=duplicates(got), exit_code=exit_code, consumer_exits=consumer_exits,
           rerun_exit=rerun.returncode, recovery_s=round(moved - killed, 1),
           outcome=(f"nothing skipped over run and re-run; {duplicates(printed):,} printed twice"
                    if not (skipped or exit_code or rerun.returncode or any(consumer_exits)) else "FAILED"))
    assert exit_code == 0, err
    assert summary(err) == (count, 0, 0)
    assert collections.Counter(got) == collections.Counter(expected)
    assert consumer_exits == [0, 0], readers.stderr()
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert b"Traceback" not in rerun.stderr and "Traceback" not in readers.stderr()
    assert skipped == 0, f"{skipped:,} lines never printed by the run or its re-run"


def in_sync_only(cluster, topics, node_id):
    """True once every partition of `topics` has `node_id` as its only in-sync replica."""
    try:
        found = cluster.admin().list_topics(timeout=5).topics
    except KafkaException:
        return False
    return all(sorted(p.isrs) == [node_id] for t in topics for p in found[t].partitions.values())


def test_two_of_three_brokers_down_producer_waits_says_why_then_finishes_or_reports_at_timeout(kafka_cluster):
    """Below min.insync.replicas=2 the cluster refuses acks=all writes (NOT_ENOUGH_REPLICAS). Two producers
    run through the same outage: one (--timeout 120) keeps its stdin open until a broker is back and must
    deliver everything; the other (--timeout 15) ends its input during the outage and must report the
    lines it could not write as failed or not confirmed, exit 1, and never count them delivered."""
    keys, first, waits_total, gives_up_total = 50, 1_000, 2_000, 1_500
    topics = [new_topic(kafka_cluster, 3), new_topic(kafka_cluster, 3)]  # waits' and gives_up's
    config, bootstrap = kafka_cluster.plaintext_config, kafka_cluster.plaintext_bootstrap
    # Both start (and get their idempotence producer id) while the cluster is whole: with two of the three
    # controllers gone no node can hand out a new one, and a producer started then waits for that instead.
    waits = Script("producer.py", config, "-t", topics[0], "--timeout", "120", stdin=subprocess.PIPE)
    gives_up = Script("producer.py", config, "-t", topics[1], "--timeout", "15", stdin=subprocess.PIPE)
    down, late = [], None
    try:
        for script in (waits, gives_up):
            write_lines(script.proc.stdin, 0, first, keys)
        for topic in topics:
            wait_for(lambda: stored_total(bootstrap, topic, range(3)) == first, 60, f"{first} lines in {topic}")
        keep = kafka_cluster.leader_of(topics[0], 0)
        for node_id in sorted(set(kafka_cluster.nodes) - {keep}):
            # a controlled shutdown takes the node out of every ISR at once (a kill would leave the ISR as it
            # was: with no controller majority left, nobody could shrink it, and writes would time out instead)
            kafka_cluster.stop_node(node_id)
            down.append(node_id)
        outage = time.monotonic()
        wait_for(lambda: in_sync_only(kafka_cluster, topics, keep), 60, f"node {keep} alone in sync")
        # A producer started now: a node hands out producer ids from a block the controllers gave it, so it
        # gets one only if the node left has ids to spare, else it waits for a controller majority. Either
        # way it must say why it waits and report its lines undelivered at --timeout. Lines `late:N`.
        late = Script("producer.py", config, "-t", topics[1], "--timeout", "10", stdin=subprocess.PIPE)
        late.proc.stdin.write(b"".join(b"late:%d\n" % i for i in range(10)))
        late.proc.stdin.close()
        write_lines(waits.proc.stdin, first, waits_total, keys)
        write_lines(gives_up.proc.stdin, first, gives_up_total, keys)
        gives_up.proc.stdin.close()
        gave_up = gives_up.finish(timeout=120)
        late_exit = late.finish(timeout=120)
        wait_for(lambda: NOT_ENOUGH_REPLICAS_SAID in waits.stderr(), 60,
                 f"producer.py saying why it waits (stderr: {waits.stderr()[-1000:]})")
        stored_during_outage = stored_total(bootstrap, topics[0], range(3))
        still_running = waits.proc.poll() is None
        kafka_cluster.restart(down[0])
        back = time.monotonic()
        waits.proc.stdin.close()
        waited = waits.finish(timeout=180)
        done = waits.ended or time.monotonic()
    finally:
        for script in (waits, gives_up, late):
            if script is not None:
                script.proc.stdin.close()
                script.finish(1)
        restore(kafka_cluster, topics)
    expected = expected_lines(waits_total, keys)
    by_partition = read_back(bootstrap, topics[0], range(3))
    got = [text for lines in by_partition.values() for text in lines]
    disorder = sum(order_violations(lines) for lines in by_partition.values())
    gave_up_stored = [text for lines in read_back(bootstrap, topics[1], range(3)).values() for text in lines]
    delivered, failed, unconfirmed = summary(gives_up.stderr())
    waits_err, gives_up_err = waits.stderr(), gives_up.stderr()
    record("3 nodes: two of three stopped (below min.insync.replicas=2) while producer.py writes; one node back",
           injected=f"SIGTERM nodes {down[0]} and {down[1]} after {first:,} lines were stored; {waits_total - first:,} "
                    f"more lines written during the outage; node {down[0]} restarted {back - outage:.1f} s later",
           lines_in=waits_total, lines_out=len(got), duplicates=duplicates(got), order_violations=disorder,
           exit_code=waited, stored_during_outage=stored_during_outage, recovery_s=round(done - back, 1),
           said_why=[text for text in waits_err.splitlines() if NOT_ENOUGH_REPLICAS_SAID in text],
           outcome="waited, said NOT_ENOUGH_REPLICAS, then every line once" if not (
               waited or disorder or collections.Counter(got) != collections.Counter(expected)) else "FAILED")
    record("3 nodes: two of three stopped; producer.py --timeout 15 ends its input during the outage",
           injected=f"SIGTERM nodes {down[0]} and {down[1]} after {first:,} lines were stored; "
                    f"{gives_up_total - first:,} more lines, then end of input",
           lines_in=gives_up_total, lines_out=len(gave_up_stored), duplicates=duplicates(gave_up_stored),
           exit_code=gave_up, delivered=delivered, failed=failed, not_confirmed=unconfirmed,
           recovery_s=round((gives_up.ended or outage) - outage, 1), said_why=NOT_ENOUGH_REPLICAS_SAID in gives_up_err,
           outcome=f"{delivered:,} delivered, {failed:,} failed, {unconfirmed:,} not confirmed; exit {gave_up}")
    record("3 nodes: two of three stopped; producer.py started during the outage (--timeout 10)",
           injected=f"nodes {down[0]} and {down[1]} stopped; a new producer.py with 10 lines",
           lines_in=10, lines_out=sum(text.startswith("late:") for text in gave_up_stored), exit_code=late_exit,
           recovery_s=round((late.ended or outage) - outage, 1),
           said_why=[text for text in late.stderr().splitlines()
                     if NO_PRODUCER_ID_SAID in text or NOT_ENOUGH_REPLICAS_SAID in text],
           outcome="said why; {:,} delivered, {:,} failed, {:,} not confirmed; exit {}".format(*summary(late.stderr()),
                                                                                               late_exit))
    late_delivered, late_failed, late_unconfirmed = summary(late.stderr())
    assert late_exit == 1, late.stderr()
    assert (late_delivered, late_failed + late_unconfirmed) == (0, 10), late.stderr()
    assert NO_PRODUCER_ID_SAID in late.stderr() or NOT_ENOUGH_REPLICAS_SAID in late.stderr()
    # the one that waited: said why, claimed and stored nothing while it could not, then wrote every line once
    assert NOT_ENOUGH_REPLICAS_SAID in waits_err
    assert waits_err.count(NOT_ENOUGH_REPLICAS_SAID) == 1  # said once, not once per retry
    assert still_running and stored_during_outage == first
    assert waited == 0, waits_err
    assert summary(waits_err) == (waits_total, 0, 0)
    assert collections.Counter(got) == collections.Counter(expected)
    assert disorder == 0
    # the one that gave up: the lines written before the outage delivered, the others reported, exit 1
    assert NOT_ENOUGH_REPLICAS_SAID in gives_up_err
    assert gave_up == 1, gives_up_err
    assert (delivered, failed + unconfirmed) == (first, gives_up_total - first), gives_up_err
    assert "Traceback" not in waits_err + gives_up_err
    # what it counted delivered is stored, exactly once; nothing else was claimed
    assert set(expected_lines(first, keys)) <= set(gave_up_stored) and duplicates(gave_up_stored) == 0
    assert not any(text.startswith("late:") for text in gave_up_stored)
