"""The consume room: how messages are shown (a batch renderer per -f format, kcat's -F), and where reading
starts and stops (-o, --until). Stands on the core, the config and the client."""

from kafka_cli.consume.formats import FORMATS, Lines, Style, one_by_one
from kafka_cli.consume.format_string import format_string
from kafka_cli.consume.positions import Position, Until, parse_position

__all__ = ["FORMATS", "Lines", "Position", "Style", "Until", "format_string", "one_by_one", "parse_position"]
