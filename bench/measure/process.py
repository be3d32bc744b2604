"""Timing one tool process: wall time from spawn to exit, peak RSS, and CPU time from os.wait4.

Each tool runs in its own session (process group), so a timeout or Ctrl-C can kill it with
every child it started (a JVM launcher script, say) and leave nothing behind.

Peak RSS: on Linux a child's ru_maxrss never reads below its parent's own peak at the fork
(the forked image counts before the exec), so a tool started straight from this Python
process shows at least the benchmark's own peak (kcat "40 MB"). So the tool is started
through GNU time (/usr/bin/time -f %M), a process of a few MB, which reports the tool's own
peak. Without GNU time the ru_maxrss floor stays, and the report says so (RSS_FLOORED).
"""

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")
RSS_FLOORED = GNU_TIME is None   # True: peak RSS reads at least the benchmark's own


def with_rss_probe(argv, rss_path):
    """argv started through GNU time, which writes the tool's peak RSS (KiB) to rss_path."""
    return [GNU_TIME, "-f", "%M", "-o", str(rss_path), "--", *argv] if GNU_TIME else list(argv)


def probed_rss_mb(rss_path, fallback_mb):
    """The peak RSS GNU time wrote (its last line; a line before it may note an exit status)."""
    try:
        lines = rss_path.read_text().split()
        return int(lines[-1]) / 1024 if lines else fallback_mb
    except (OSError, ValueError):
        return fallback_mb
    finally:
        rss_path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Finished:
    returncode: int
    wall: float       # seconds from spawn to exit
    rss_mb: float     # peak resident set size of the process
    cpu: float        # user + system seconds
    timed_out: bool


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Deadline:
    """Kills the process group after `timeout` seconds unless `reaped()` came first."""

    def __init__(self, pid, timeout):
        self.pid = pid
        self._reaped, self._fired = threading.Event(), threading.Event()
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self):
        if not self._reaped.is_set():
            self._fired.set()
            kill_group(self.pid)

    def reaped(self):
        self._reaped.set()
        self._timer.cancel()

    @property
    def timed_out(self):
        return self._fired.is_set()


def reap(proc, deadline, began, rss_path):
    """Wait for the process with os.wait4 (for its resource usage) and build its Finished."""
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C or SIGTERM while waiting: take the tool down with us
        deadline.reaped()
        kill_group(proc.pid)
        proc.wait()
        raise
    wall = time.perf_counter() - began
    deadline.reaped()
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux; CPU time covers GNU time and the tool it waited for
    rss_mb = probed_rss_mb(rss_path, usage.ru_maxrss / 1024)
    return Finished(proc.returncode, wall, rss_mb, usage.ru_utime + usage.ru_stime, deadline.timed_out)


def run_measured(argv, stdin_path, stdout_path, stderr_path, timeout):
    """Run argv to its end and return its exit code, wall time and resource usage (os.wait4)."""
    with open(stdin_path or os.devnull, "rb") as stdin, open(stdout_path, "wb") as out, \
            open(stderr_path, "wb") as err:
        rss_path = f"{stderr_path}.rss"
        began = time.perf_counter()
        proc = subprocess.Popen(with_rss_probe(argv, rss_path), stdin=stdin, stdout=out, stderr=err,
                                start_new_session=True)
    return reap(proc, Deadline(proc.pid, timeout), began, Path(rss_path))


def read_to_end(stream, began):
    """All of a pipe's bytes, and the seconds from `began` to the first complete line (None if none)."""
    chunks, first_at = [], None
    while True:
        chunk = os.read(stream.fileno(), 1 << 16)
        if not chunk:
            return b"".join(chunks), first_at
        chunks.append(chunk)
        if first_at is None and b"\n" in chunk:
            first_at = time.perf_counter() - began


def run_to_first_line(argv, stderr_path, timeout):
    """Run argv with an empty stdin; (Finished, seconds from spawn to its first stdout line or None,
    all of its stdout). The stdout is read to its end, so the tool never blocks on a full pipe."""
    with open(os.devnull, "rb") as stdin, open(stderr_path, "wb") as err:
        rss_path = Path(f"{stderr_path}.rss")
        began = time.perf_counter()
        proc = subprocess.Popen(with_rss_probe(argv, rss_path), stdin=stdin, stdout=subprocess.PIPE, stderr=err,
                                start_new_session=True)
    deadline = Deadline(proc.pid, timeout)  # a kill closes the pipe, which ends the read
    try:
        output, first_at = read_to_end(proc.stdout, began)
    except BaseException:  # Ctrl-C or SIGTERM while reading: take the tool down with us
        deadline.reaped()
        kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        proc.stdout.close()
    return reap(proc, deadline, began, rss_path), first_at, output
