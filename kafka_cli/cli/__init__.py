"""The command-line face: the click commands producer.py and consumer.py (and consumer.py's views), the
options both take, and the terminal (log lines on stderr, the progress line). The one room that writes to the
terminal and turns options into the values the other rooms run on; it may import every room, none imports it."""

