"""Producer input: stdin split into lines, and each line into key and value.

Lines are bytes and stay bytes: nothing is decoded or trimmed but the line ending.
"""


class LineParser:
    """Splits raw input lines into (key, value); lines are bytes, kept as they are.

    read_and_produce inlines parse() in its per-line loop; a unit test holds the two to the same result.
    """

    def __init__(self, separator, no_key):
        self.separator = separator
        self.no_key = no_key

    def parse(self, line):
        """(key, value) for one line without its ending; None if it has no separator."""
        if self.no_key:
            return None, line
        key, found, value = line.partition(self.separator)
        if not found:
            return None
        # An empty key ("":value) is sent as no key at all, which is how consumer.py prints one.
        return key or None, value


def split_lines(block):
    """Complete lines of a block (endings removed) and the unfinished rest."""
    lines = block.split(b"\n")
    rest = lines.pop()
    if b"\r" in block:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    return lines, rest
