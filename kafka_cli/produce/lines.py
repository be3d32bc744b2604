"""Producer input: stdin split into lines (or into messages at another delimiter, -D), and each line into key and
value (or a whole value with --no-key, or with one key for every line, -k).

Lines are bytes and stay bytes: nothing is decoded or trimmed but the line ending (a newline, and a \r before it;
with -D, exactly the delimiter).
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
        self.key = None  # -k: the key of every line (each line is then a whole value), or None
        self.partition = -1  # -p: the partition of every line; -1: the partitioner chooses
        self.delimiter = b"\n"  # -D: what ends a line (a message)

    def framed(self, key=None, partition=-1, delimiter=b"\n"):
        """-k, -p and -D: one key for every line, one partition for every line, another delimiter; returns self."""
        self.key, self.partition, self.delimiter = key, partition, delimiter
        return self

    @property
    def prompt(self):
        split = not self.no_key and self.key is None
        return f"type key{self.separator.decode(errors='replace') if split else ''}value lines"

    def reader(self, max_bytes):
        return InputLines(max_bytes, None if self.no_key or self.key is not None else self.separator, self.delimiter)

    def plain(self, chunk):
        """The fast path's (keys, values) for a chunk of whole lines, or None: see split_chunk. With -k, the values
        of a --no-key split, each with the one key."""
        if self.key is None:
            return split_chunk(chunk, self.separator, self.no_key, self.null_values, self.delimiter)
        plain = split_chunk(chunk, self.separator, True, self.null_values, self.delimiter)
        return None if plain is None else ([self.key] * len(plain[1]), plain[1])

    def parse(self, line):
        """produce()'s (key, value, headers, partition, timestamp) for one line without its ending; BadLine if
        it has no separator. Partition -1 and timestamp 0 leave them to the partitioner and the clock."""
        if self.no_key or self.key is not None:
            key, value = self.key, line
        else:
            key, found, value = line.partition(self.separator)
            if not found:
                raise BadLine(f"no key separator {self.separator.decode(errors='replace')!r} in "
                              f"{one_line(line.decode(errors='replace'), 40)!r}")
        if self.null_values and value in self.null_values:
            value = None
        # An empty key ("":value) is sent as no key at all, which is how consumer.py prints one.
        return key or None, value, self.headers, self.partition, 0


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

    A line ends at a newline, or at `delimiter` (-D): then a "line" is what lies between two delimiters, newlines
    and all, and nothing else is trimmed. A delimiter of several bytes is found as bytes.split() finds it, from the
    left (so that "--" in "x---" ends "x" and leaves "-"), also when it straddles two blocks.
    """

    def __init__(self, limit, separator, delimiter=b"\n"):
        self.separator = separator  # None with --no-key
        self.delimiter = delimiter
        # over this, key + value alone exceed the limit (+1: a final \r belongs to the line ending; with -D of
        # several bytes, the start of the delimiter may end the rest)
        self.cap = limit + len(separator or b"") + max(1, len(delimiter) - 1)
        self.rest = b""  # the unfinished line
        self.at_start = True
        self.skipping = None  # the TooLong line being skipped to its end
        self.tail = b""  # while skipping: its last bytes, which may be the start of a delimiter of several bytes
        self.last = None  # (chunk, line): end_chunk's last line when a delimiter of several bytes follows it

    def lines(self, chunk):
        """The lines of a chunk feed_chunk() or end_chunk() gave, their endings removed."""
        if self.delimiter == b"\n":
            return split_lines(chunk)[0]
        if self.last is not None and chunk is self.last[0]:
            return [self.last[1]]  # "z-" + "--" would split as "z", "-"
        lines = chunk.split(self.delimiter)
        lines.pop()  # after the last delimiter
        return lines

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
            block, too_long = self.skip(block)
            if too_long is None:
                return b"", None
        data = self.rest + block
        if len(self.delimiter) == 1:
            cut = data.rfind(self.delimiter) + 1
        else:  # where bytes.split() ends its last piece: rfind could find a delimiter overlapping another one
            cut = len(data) - len(data.split(self.delimiter)[-1])
        chunk, rest = data[:cut], data[cut:]
        if len(rest) > self.cap:
            self.skipping = TooLong(self.separator, self.delimiter == b"\n").add(rest)
            self.tail, rest = self.skipping_tail(b"", rest), b""
        self.rest = rest
        return chunk, too_long

    def skipping_tail(self, before, data):
        """The last bytes of what is skipped that may begin a delimiter (none for a one-byte delimiter)."""
        keep = len(self.delimiter) - 1
        return (before + data)[-keep:] if keep else b""

    def skip(self, block):
        """While a too-long line is skipped: (what of `block` follows its end, the TooLong) once its delimiter
        came, else (b"", None) with the block counted."""
        seen = self.tail + block
        found = seen.find(self.delimiter)
        if found < 0:
            self.skipping.add(block)
            self.tail = self.skipping_tail(self.tail, block)
            return b"", None
        start = found - len(self.tail)  # where the delimiter begins in `block`: before it when it straddles
        too_long, self.skipping, self.tail = self.skipping, None, b""
        if start < 0:
            too_long.cut(-start)
        else:
            too_long.add(block[:start])
        return block[start + len(self.delimiter):], too_long

    def end_chunk(self):
        """At the end of input: (the last line, if it had no delimiter, as a chunk ending in one, as feed_chunk()
        gives; the too-long line or None)."""
        too_long, self.skipping, self.tail = self.skipping, None, b""
        rest, self.rest = self.rest, b""
        chunk = rest + self.delimiter if rest else b""
        if rest and len(self.delimiter) > 1:
            self.last = (chunk, rest)
        return chunk, too_long


def split_chunk(chunk, separator, no_key, null_values, delimiter=b"\n"):
    """The fast path's split of a chunk of whole lines: (keys, values), one per line, or None if any line
    needs the line-by-line path (read_and_produce): an empty line, a \\r, a line without the separator or
    with more than one, an empty key, a null marker, or a separator of more than one byte. keys is None
    with --no-key (values are the lines). A line ends at `delimiter` (-D; one byte, else None: see
    InputLines.lines), and then a \\r is data like any other byte.

    Work per line is done by bytes methods over the whole chunk, in C: no Python bytecode runs per line.
    With the separator s, every line is KEY s VALUE: the chunk with each newline made an s, split at s,
    alternates key, value. That holds only if each line has exactly one s, which the last step proves: the
    parts joined back with s and newline in turn must be the chunk, byte for byte."""
    if delimiter == b"\n":
        if b"\r" in chunk:
            return None
    elif len(delimiter) != 1:
        return None
    if no_key:
        lines = chunk.split(delimiter)
        lines.pop()  # after the final newline
        if b"" in lines or (null_values and not null_values.isdisjoint(lines)):
            return None
        return None, lines
    if len(separator) != 1 or separator == delimiter:
        return None
    parts = chunk.replace(delimiter, separator).split(separator)
    parts.pop()  # after the final newline
    if len(parts) % 2:
        return None  # more separators than lines (bytes.count would say so sooner, but it reads byte by byte)
    lines = len(parts) // 2
    woven = [b""] * (4 * lines)
    woven[0::2] = parts
    woven[1::2] = [separator, delimiter] * lines
    if b"".join(woven) != chunk:
        return None  # a line with no separator and another with two: the alternation is off
    keys, values = parts[0::2], parts[1::2]
    if b"" in keys or (null_values and not null_values.isdisjoint(values)):
        return None  # an empty key is sent as no key, a marker as null: the line-by-line path does both
    return keys, values


class TooLong:
    """A line too long to send, skipped: how long it is, and how long its value (without key and separator).
    `newline`: it ends at a newline, so a \\r before that belongs to the ending (not with -D)."""

    def __init__(self, separator, newline=True):
        self.separator = separator
        self.newline = newline
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

    def cut(self, count):
        """The last `count` bytes counted were the start of the delimiter (-D of several bytes), not of the line."""
        self.size -= count
        if self.key_size is not None and self.key_size + len(self.separator) > self.size:
            self.key_size = None  # the separator found was in those bytes: there is none before them

    @property
    def line_size(self):
        """Without the line ending: a final \\r went with the \\n."""
        return self.size - (self.newline and self.last == b"\r")

    @property
    def value_size(self):
        if self.key_size is None:
            return self.line_size
        return max(0, self.line_size - self.key_size - len(self.separator))
