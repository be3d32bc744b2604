"""The producer says once why it waits, from librdkafka's log lines that the default level would hide."""

import logging

from confluent_kafka import KafkaError

from kafka_cli.core.secrets import Redactor
from kafka_cli.cli.terminal import setup_logging


def debug_line(client_log, text):
    client_log.log(logging.DEBUG, "%s", text)


def test_too_few_in_sync_replicas_is_said_once_and_the_debug_lines_stay_hidden(capsys):
    log, client_log = setup_logging("producer.py", 0, False, Redactor())
    line = (f"MSGSET [thrd:127.0.0.1:1/1]: t [0]: MessageSet with 12 message(s) encountered error: "
            f"{KafkaError(KafkaError.NOT_ENOUGH_REPLICAS).str()} (actions Retry,MsgNotPersisted)")
    debug_line(client_log, line)
    debug_line(client_log, line)
    err = capsys.readouterr().err
    assert err.count("producer.py: the cluster has fewer in-sync replicas than the topic's min.insync.replicas "
                     "(NOT_ENOUGH_REPLICAS:") == 1
    assert "MessageSet" not in err


def test_an_ordinary_debug_line_says_nothing(capsys):
    log, client_log = setup_logging("producer.py", 0, False, Redactor())
    debug_line(client_log, "MSGSET [thrd:127.0.0.1:1/1]: t [0]: MessageSet with 12 message(s) delivered")
    assert capsys.readouterr().err == ""
