"""What a user the broker's ACLs refuse is told, on a Kafka with an authorizer (StandardAuthorizer; everyone
allowed until an ACL says otherwise, the PLAINTEXT admin always): one line naming the user, the group or topic and
the right that is missing, exit 1, never the password. Its own broker, since the session's have no authorizer."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, NewTopic, ResourcePatternType,
                                   ResourceType)

from local_kafka import LocalKafka
from local_kafka.broker import SilentLogger

ROOT = Path(__file__).resolve().parents[2]


class AclKafka(LocalKafka):
    acls = True


@pytest.fixture(scope="module")
def acl_kafka(tmp_path_factory):
    broker = AclKafka(workdir=tmp_path_factory.mktemp("kafka-acl") / "kafka")
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


def deny(admin, resource_type, name, operation):
    """A DENY for alice (the user of the SASL_SSL config) on one resource."""
    binding = AclBinding(resource_type, name, ResourcePatternType.LITERAL, "User:alice", "*", operation,
                         AclPermissionType.DENY)
    for future in admin.create_acls([binding], request_timeout=30).values():
        future.result()


def group_with_offsets(kafka, topic, group):
    """A topic of 3 messages and a group (as the PLAINTEXT admin) that committed all of them."""
    admin = kafka.admin()
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    writer = Producer({"bootstrap.servers": kafka.plaintext_bootstrap, "logger": SilentLogger()})
    for i in range(3):
        writer.produce(topic, key=b"k%d" % i, value=b"v%d" % i)
    assert writer.flush(30) == 0
    reader = Consumer({"bootstrap.servers": kafka.plaintext_bootstrap, "group.id": group, "logger": SilentLogger(),
                       "auto.offset.reset": "earliest", "enable.auto.commit": False})
    reader.subscribe([topic])
    seen = 0
    while seen < 3:
        msg = reader.poll(30)
        assert msg is not None and msg.error() is None
        seen += 1
    reader.commit(asynchronous=False)
    reader.close()
    return admin


def lag(kafka, group, *args):
    return subprocess.run([sys.executable, str(ROOT / "consumer.py"), str(kafka.sasl_ssl_config), "--lag", "-g", group,
                           "--timeout", "20", *args], capture_output=True, cwd=ROOT, timeout=90)


def test_a_user_without_describe_on_the_group_is_told_so_in_one_line(acl_kafka):
    topic, group = f"t-acl-{uuid.uuid4().hex[:8]}", f"g-acl-{uuid.uuid4().hex[:8]}"
    admin = group_with_offsets(acl_kafka, topic, group)
    allowed = lag(acl_kafka, group)
    assert allowed.returncode == 0 and b"group total lag 0" in allowed.stdout, allowed.stderr
    deny(admin, ResourceType.GROUP, group, AclOperation.DESCRIBE)
    refused = lag(acl_kafka, group)
    err = refused.stderr.decode()
    assert refused.returncode == 1 and refused.stdout == b"", err
    assert err.splitlines()[-1] == (f"Error: user 'alice' may not describe group '{group}' (the broker's ACLs: "
                                    "DESCRIBE on the group is needed to see its members and committed offsets)")
    assert acl_kafka.passwords["alice"] not in err and "Traceback" not in err


def test_a_user_without_describe_on_the_topic_is_told_so_in_one_line(acl_kafka):
    topic, group = f"t-acl-{uuid.uuid4().hex[:8]}", f"g-acl-{uuid.uuid4().hex[:8]}"
    admin = group_with_offsets(acl_kafka, topic, group)
    deny(admin, ResourceType.TOPIC, topic, AclOperation.DESCRIBE)
    refused = lag(acl_kafka, group)
    err = refused.stderr.decode()
    assert refused.returncode == 1 and refused.stdout == b"", err
    # (the broker leaves the topic's offsets out of its answer without an error: the view says what that can mean)
    assert err.splitlines()[-1] == (
        f"Error: group '{group}' on {acl_kafka.sasl_ssl_bootstrap} has no members and shows no committed offsets "
        "to user 'alice' (state Empty): they expired, or they are on topics this user may not describe (the "
        "broker's ACLs: DESCRIBE on the topic is needed)"), err
    assert acl_kafka.passwords["alice"] not in err and "Traceback" not in err
