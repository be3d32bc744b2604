"""Producer input: stdin split into lines, and each line into key and value.

Lines are bytes and stay bytes: nothing is decoded or trimmed but the line ending.
"""

from kafka_cli.core.words import one_line


class BadLine(ValueError):
    """A line that is not a record of this input; the message says why, with the start of the line (one_line of
    its text, a byte that is not UTF-8 shown as U+FFFD)."""


class LineParser:
    """Text input: KEY<sep>VALUE lines (or whole lines with --no-key) to produce() arguments; lines are bytes,
    kept as they are. The read loop (kafka_cli.produce.loop) calls parse() for any line off the fast path, and
    plain() to ask whether a whole chunk can take the fast path instead. -f json's JsonRecords has the same face.
    """

    bad = "no key separator"  # what a bad line is, for the summary
    what = "message"  # what a line too long to send is called
    hint = "use --no-key to send whole lines, --skip-bad-lines to go on"

    def __init__(self, separator, no_key, null_values=frozenset(), headers=None):
        self.separator = separator
        self.no_key = no_key
        self.null_values = null_values  # values sent as null (a tombstone): --null-value, and b"" with -Z
        self.headers = headers  # -H: [(name, value)] on every message, or None

    @property
    def prompt(self):
        return f"type key{self.separator.decode(errors='replace') if not self.no_key else ''}value lines"

    def reader(self, max_bytes):
        return InputLines(max_bytes, None if self.no_key else self.separator)

    def plain(self, chunk):
        """The fast path's (keys, values) for a chunk of whole lines, or None: see split_chunk."""
        return split_chunk(chunk, self.separator, self.no_key, self.null_values)

    def parse(self, line):
        """produce()'s (key, value, headers, partition, timestamp) for one line without its ending; BadLine if
        it has no separator. Partition -1 and timestamp 0 leave them to the partitioner and the clock."""
        if self.no_key:
            key, value = None, line
        else:
            key, found, value = line.partition(self.separator)
            if not found:
                raise BadLine(f"no key separator {self.separator.decode(errors='replace')!r} in "
                              f"{one_line(line.decode(errors='replace'), 40)!r}")
        if self.null_values and value in self.null_values:
            value = None
        # An empty key ("":value) is sent as no key at all, which is how consumer.py prints one.
        return key or None, value, self.headers, -1, 0


def split_lines(block):
    """Complete lines of a block (endings removed) and the unfinished rest."""
    lines = block.split(b"\n")
    rest = lines.pop()
    if b"\r" in block:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    return lines, rest


# A UTF-8 byte order mark (as Windows editors write) at the very start of the input is not data.
BOM = b"\xef\xbb\xbf"


class InputLines:
    """stdin's blocks turned into complete lines, in memory bounded by the longest line that could be sent.

    A line longer than `limit` (the client's message.max.bytes) can never be sent: once the unfinished line
    outgrows it, its bytes are only counted, not kept, until its newline (or the end of input) comes, and
    it is returned as a TooLong in place of the line. So `< /dev/zero` or a huge file without a newline
    takes constant memory and linear time. A byte order mark at the very start is dropped.
    """

    def __init__(self, limit, separator):
        self.separator = separator  # None with --no-key
        # over this, key + value alone exceed the limit (+1: a final \r belongs to the line ending)
        self.cap = limit + len(separator or b"") + 1
        self.rest = b""  # the unfinished line
        self.at_start = True
        self.skipping = None  # the TooLong line being skipped to its end

    def feed_chunk(self, block):
        """(the complete lines up to the end of `block` as one bytes object, each still ending in its newline;
        the too-long line that ended in it or None). A too-long line that ends here comes before every line of
        the chunk, having begun before them."""
        if self.at_start:
            block, self.rest = self.rest + block, b""
            if len(block) < len(BOM) and BOM.startswith(block):
                self.rest = block  # perhaps the start of a BOM: decide when more comes
                return b"", None
            self.at_start = False
            if block.startswith(BOM):
                block = block[len(BOM):]
        too_long = None
        if self.skipping is not None:
            end = block.find(b"\n")
            if end < 0:
                self.skipping.add(block)
                return b"", None
            too_long, self.skipping = self.skipping.add(block[:end]), None
            block = block[end + 1:]
        data = self.rest + block
        cut = data.rfind(b"\n") + 1
        chunk, rest = data[:cut], data[cut:]
        if len(rest) > self.cap:
            self.skipping, rest = TooLong(self.separator).add(rest), b""
        self.rest = rest
        return chunk, too_long

    def end_chunk(self):
        """At the end of input: (the last line, if it had no newline, as a chunk ending in one, as feed_chunk() gives;
        the too-long line or None)."""
        too_long, self.skipping = self.skipping, None
        rest, self.rest = self.rest, b""
        return (rest + b"\n" if rest else b""), too_long


def split_chunk(chunk, separator, no_key, null_values):
    """The fast path's split of a chunk of whole lines: (keys, values), one per line, or None if any line
    needs the line-by-line path (read_and_produce): an empty line, a \\r, a line without the separator or
    with more than one, an empty key, a null marker, or a separator of more than one byte. keys is None
    with --no-key (values are the lines).

    Work per line is done by bytes methods over the whole chunk, in C: no Python bytecode runs per line.
    With the separator s, every line is KEY s VALUE: the chunk with each newline made an s, split at s,
    alternates key, value. That holds only if each line has exactly one s, which the last step proves: the
    parts joined back with s and newline in turn must be the chunk, byte for byte."""
    if b"\r" in chunk:
        return None
    if no_key:
        lines = chunk.split(b"\n")
        lines.pop()  # after the final newline
        if b"" in lines or (null_values and not null_values.isdisjoint(lines)):
            return None
        return None, lines
    if len(separator) != 1 or separator == b"\n":
        return None
    parts = chunk.replace(b"\n", separator).split(separator)
    parts.pop()  # after the final newline
    if len(parts) % 2:
        return None  # more separators than lines (bytes.count would say so sooner, but it reads byte by byte)
    lines = len(parts) // 2
    woven = [b""] * (4 * lines)
    woven[0::2] = parts
    woven[1::2] = [separator, b"\n"] * lines
    if b"".join(woven) != chunk:
        return None  # a line with no separator and another with two: the alternation is off
    keys, values = parts[0::2], parts[1::2]
    if b"" in keys or (null_values and not null_values.isdisjoint(values)):
        return None  # an empty key is sent as no key, a marker as null: the line-by-line path does both
    return keys, values


class TooLong:
    """A line too long to send, skipped: how long it is, and how long its value (without key and separator)."""

    def __init__(self, separator):
        self.separator = separator
        self.size = 0
        self.key_size = None  # where the first separator starts; None: none yet (or --no-key)
        self.tail = b""  # the last bytes seen, in case a separator straddles two blocks
        self.last = b""

    def add(self, data):
        if self.separator is not None and self.key_size is None:
            seen = self.tail + data
            found = seen.find(self.separator)
            if found >= 0:
                self.key_size = self.size - len(self.tail) + found
            self.tail = seen[len(seen) - len(self.separator) + 1:] if len(self.separator) > 1 else b""
        if data:
            self.size += len(data)
            self.last = data[-1:]
        return self

    @property
    def line_size(self):
        """Without the line ending: a final \\r went with the \\n."""
        return self.size - (self.last == b"\r")

    @property
    def value_size(self):
        if self.key_size is None:
            return self.line_size
        return max(0, self.line_size - self.key_size - len(self.separator))
