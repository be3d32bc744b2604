"""The workload (how many messages, how big, how many partitions) and its input file.

Every input line is `KEY:VALUE`: a 5-byte key drawn from 5,000 distinct keys and a value
that starts with the line's 10-digit sequence number, so every line is unique and a lost
line cannot hide behind a doubled one in the multiset check.
"""

import random
import string
from dataclasses import dataclass

KEY_BYTES = 5                # k0000 .. k4999
DISTINCT_KEYS = 5000
SEQUENCE_DIGITS = 10         # the value starts with the line number, zero-padded
DEFAULT_VALUE_BYTES = 95     # 100 bytes of key + value
MIN_VALUE_BYTES = SEQUENCE_DIGITS
SIZES = (10, 100, 10240)     # the value sizes one run measures side by side: a counter, a line, a document
BULK_BYTES = 10 ** 9         # a bulk run moves at most this many value bytes (1 GB: 97,656 values of 10 KB)
INPUT_SEED = 20240601        # the same input on every run, so runs on different days compare
POOL_CHARS = 8192            # random filler is cut from this pool (cheaper than a random() per byte)


@dataclass(frozen=True)
class Workload:
    messages: int
    partitions: int
    value_bytes: int = DEFAULT_VALUE_BYTES

    @property
    def message_bytes(self):
        """Key + value of one message; ProducerPerformance's --record-size, the unit of MB/s."""
        return KEY_BYTES + self.value_bytes

    def describe(self):
        return (f"{self.messages:,} messages of {self.message_bytes:,} bytes (key + value; "
                f"{DISTINCT_KEYS:,} distinct keys), topics of {self.partitions} partitions")


def bulk_messages(cap, value_bytes):
    """Messages of a bulk run: `cap`, or fewer when that many values would be more than BULK_BYTES."""
    return max(1, min(cap, BULK_BYTES // value_bytes))


def write_input(path, workload, seed=INPUT_SEED):
    """N lines `kNNNN:<10-digit sequence>[-<filler>]` of exactly key + value bytes each.

    The draws from the generator keep the order of the first version (pool, then per line
    the filler offset before the key), so the default workload's file stays byte-identical.
    """
    rng = random.Random(seed)
    # a value of exactly 10 bytes is the sequence alone; longer ones add "-" and filler
    filler = max(workload.value_bytes - SEQUENCE_DIGITS - 1, 0)
    dash = "-" if workload.value_bytes > SEQUENCE_DIGITS else ""
    pool_size = max(POOL_CHARS, 2 * filler)
    pool = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(pool_size))
    with open(path, "w", buffering=1 << 20) as f:
        for seq in range(workload.messages):
            start = rng.randrange(len(pool) - filler)
            f.write(f"k{rng.randrange(DISTINCT_KEYS):04d}:{seq:010d}{dash}{pool[start:start + filler]}\n")
