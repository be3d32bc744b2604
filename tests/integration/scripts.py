"""Running producer.py and consumer.py as processes, the way a user does."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kcat_path():
    """kcat on PATH, for the tests that hold our output to its own; a failure naming the fix where it is
    missing (.ci/run installs it the same way)."""
    found = shutil.which("kcat")
    assert found, "kcat is not installed: apt-get install kcat (Debian/Ubuntu), as .ci/run does"
    return found


def run_script(script, config, *args, input=b"", timeout=120, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / script), str(config), *map(str, args)],
                          input=input, capture_output=True, timeout=timeout, cwd=ROOT, **kwargs)


def produce(config, topic, lines, *args, **kwargs):
    """Pipe `lines` (bytes, or a list of str) into producer.py."""
    data = lines if isinstance(lines, bytes) else "".join(f"{line}\n" for line in lines).encode()
    return run_script("producer.py", config, "-t", topic, *args, input=data, **kwargs)


def consume(config, topic, *args, **kwargs):
    return run_script("consumer.py", config, "-t", topic, *args, **kwargs)


def start_consumer(config, topic, *args, **kwargs):
    return subprocess.Popen([sys.executable, str(ROOT / "consumer.py"), str(config), "-t", topic, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, **kwargs)


def json_records(stdout):
    return [json.loads(line) for line in stdout.decode().splitlines()]


def lines_of(stdout):
    return stdout.decode().splitlines()


def no_traceback(result):
    return b"Traceback" not in result.stderr and b"Traceback" not in result.stdout


def murmur2_partition(key: bytes, partitions: int) -> int:
    """Java's DefaultPartitioner: toPositive(murmur2(key)) % partitions, written out independently."""
    m, r = 0x5BD1E995, 24
    length = len(key)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(key[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = length % 4
    base = length - tail
    if tail == 3:
        h ^= key[base + 2] << 16
    if tail >= 2:
        h ^= key[base + 1] << 8
    if tail >= 1:
        h ^= key[base]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions
