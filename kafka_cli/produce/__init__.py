"""The produce room: stdin read into lines or JSON records, the one read loop that hands them to produce(),
the delivery accounting and its summary, and the check that the topic takes writes before the first line.
Stands on the core, the config and the client."""

from kafka_cli.produce.lines import BadLine, InputLines, LineParser
from kafka_cli.produce.json_input import BadRecord, JsonRecords
from kafka_cli.produce.loop import read_and_produce
from kafka_cli.produce.delivery import Delivery, StopSignals, finish, report
from kafka_cli.produce.topic_ready import check_topic

__all__ = ["BadLine", "BadRecord", "Delivery", "InputLines", "JsonRecords", "LineParser", "StopSignals", "check_topic", "finish", "read_and_produce", "report"]
