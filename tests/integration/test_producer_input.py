"""What arrives on producer.py's stdin, however odd, against the real broker: endless or huge input with no
newline (memory stays bounded, time linear), a byte order mark, a closed stdin.

Peak memory is measured by GNU time (%M, the maximum resident set size). Not by wait4 on a child of this
process: Linux carries a forked child's pre-exec high-water mark (this whole pytest process) into its ru_maxrss.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

from .faults_report import record
from .test_faults import command, read_topic

MIB = 1024 * 1024


def measured(args, rss_file):
    """The command under GNU time, which writes the peak RSS (KiB) of the command to `rss_file`."""
    return ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *args]


def wait_with_rss(proc, rss_file):
    """Wait for a measured() process; its exit status and its peak RSS in MiB."""
    code = proc.wait(120)
    return code, int(Path(rss_file).read_text().split()[-1]) / 1024


def baseline_rss(kafka, topic, tmp_path):
    """Peak RSS of an ordinary one-line run: what the interpreter and the client cost by themselves."""
    rss_file = tmp_path / "baseline.rss"
    proc = subprocess.Popen(measured(command("producer.py", kafka.plaintext_config, "-t", topic), rss_file),
                            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdin.write(b"base:line\n")
    proc.stdin.close()
    code, rss = wait_with_rss(proc, rss_file)
    assert code == 0
    return rss


def test_256_mib_without_a_newline_is_skipped_in_bounded_memory(kafka, make_topic, tmp_path):
    topic = make_topic(1)
    size = 256 * MIB
    data = tmp_path / "one-line.bin"
    with open(data, "wb") as f:
        f.write(b"k:")
        chunk = b"x" * MIB
        for _ in range(size // MIB):
            f.write(chunk)
    base = baseline_rss(kafka, make_topic(1), tmp_path)
    with open(data, "rb") as stdin:
        began = time.monotonic()
        proc = subprocess.Popen(measured(command("producer.py", kafka.plaintext_config, "-t", topic),
                                         tmp_path / "run.rss"), stdin=stdin, stderr=subprocess.PIPE)
        err = proc.stderr.read().decode(errors="replace")
        code, rss = wait_with_rss(proc, tmp_path / "run.rss")
        seconds = time.monotonic() - began
    record("producer.py < a 256 MiB file with no newline", injected="'k:' + 256 MiB of 'x', no newline at all",
           lines_in=1, lines_out=0, exit_code=code, recovery_s=round(seconds, 1), peak_rss_mib=round(rss),
           baseline_rss_mib=round(base), outcome=f"line 1 reported and failed; peak RSS {rss:.0f} MiB "
           f"(a one-line run: {base:.0f} MiB); {size / MIB / seconds:.0f} MiB/s")
    assert code == 1, err
    assert "Traceback" not in err
    assert f"line 1: message of {size:,} bytes is larger than the limit of 1,000,000 bytes" in err, err
    assert "0 delivered to" in err and ", 1 failed" in err, err
    assert rss < base + 32, f"peak RSS {rss:.0f} MiB, a one-line run {base:.0f} MiB"  # 256 MiB never held
    assert read_topic(kafka.plaintext_bootstrap, topic) == []


def test_dev_zero_is_read_in_bounded_memory_until_stopped(kafka, make_topic, tmp_path):
    topic = make_topic(1)
    base = baseline_rss(kafka, make_topic(1), tmp_path)
    with open("/dev/zero", "rb") as zero:
        timer = subprocess.Popen(measured(command("producer.py", kafka.plaintext_config, "-t", topic),
                                          tmp_path / "run.rss"), stdin=zero, stderr=subprocess.PIPE)
    proc = producer_under(timer)
    read = 0
    began = time.monotonic()
    while read < 1024 * MIB:  # a GiB of NUL bytes: one line with no end
        assert timer.poll() is None, timer.stderr.read()
        with open(f"/proc/{proc}/io") as io:
            read = int(dict(line.split(": ") for line in io.read().splitlines())["rchar"])
        time.sleep(0.1)
    seconds = time.monotonic() - began
    os.kill(proc, signal.SIGINT)
    err = timer.stderr.read().decode(errors="replace")
    code, rss = wait_with_rss(timer, tmp_path / "run.rss")
    record("producer.py < /dev/zero, SIGINT after 1 GiB was read",
           injected="stdin is /dev/zero (one endless line of NUL bytes)", lines_in=1, lines_out=0, exit_code=code,
           peak_rss_mib=round(rss), baseline_rss_mib=round(base), recovery_s=round(seconds, 1),
           outcome=f"line 1 reported and failed; peak RSS {rss:.0f} MiB (a one-line run: {base:.0f} MiB); "
                   f"read {read / MIB / seconds:.0f} MiB/s")
    assert "Traceback" not in err
    assert "line 1: message of" in err and "larger than the limit" in err, err
    assert "stopped by SIGINT" in err, err
    assert code == 1, err  # a line read and not delivered: 1, not 130
    assert rss < base + 32, f"peak RSS {rss:.0f} MiB, a one-line run {base:.0f} MiB"


def producer_under(timer):
    """The pid of the producer GNU time started (its only child)."""
    deadline = time.monotonic() + 30
    while True:
        children = Path(f"/proc/{timer.pid}/task/{timer.pid}/children").read_text().split()
        if children:
            return int(children[0])
        assert time.monotonic() < deadline, "GNU time started nothing"
        time.sleep(0.01)


def test_byte_order_mark_is_not_part_of_the_first_key(kafka, make_topic):
    topic = make_topic(1)
    data = b"\xef\xbb\xbfk1:v1\r\nk2:v2\r\n"  # as a Windows editor saves it
    result = subprocess.run(command("producer.py", kafka.plaintext_config, "-t", topic), input=data,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert read_topic(kafka.plaintext_bootstrap, topic) == [("k1", "v1"), ("k2", "v2")]


def test_closed_stdin_is_a_clear_error(kafka, topic):
    """producer.py <&- : there is no stdin at all (and its fd 0 must not be taken for one)."""
    result = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", *command("producer.py", kafka.plaintext_config,
                                                                          "-t", topic)],
                            capture_output=True, timeout=60)
    err = result.stderr.decode(errors="replace")
    record("producer.py <&- (stdin closed)", injected="the shell closes fd 0 before starting it", lines_in=0,
           lines_out=0, exit_code=result.returncode, outcome=err.strip().splitlines()[-1] if err.strip() else "")
    assert result.returncode == 2, err
    assert "Traceback" not in err
    assert "stdin is closed" in err, err
    assert read_topic(kafka.plaintext_bootstrap, topic) == []
