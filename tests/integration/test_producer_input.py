"""What arrives on producer.py's stdin, however odd, against the real broker: endless or huge input with no
newline (memory stays bounded, time linear), a byte order mark, a closed stdin.

Peak memory is the child's own ru_maxrss, from os.wait4 on its pid (not RUSAGE_CHILDREN, which would be the
largest of every child this test process ever waited for).
"""

import os
import signal
import subprocess
import time

from .faults_report import record
from .test_faults import command, read_topic

MIB = 1024 * 1024


def wait_with_rusage(proc):
    """Wait for a Popen child; its exit status (as Popen would say) and its peak RSS in MiB."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def baseline_rss(kafka, topic):
    """Peak RSS of an ordinary one-line run: what the interpreter and the client cost by themselves."""
    proc = subprocess.Popen(command("producer.py", kafka.plaintext_config, "-t", topic), stdin=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    proc.stdin.write(b"base:line\n")
    proc.stdin.close()
    code, rss = wait_with_rusage(proc)
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
    base = baseline_rss(kafka, make_topic(1))
    with open(data, "rb") as stdin:
        began = time.monotonic()
        proc = subprocess.Popen(command("producer.py", kafka.plaintext_config, "-t", topic), stdin=stdin,
                                stderr=subprocess.PIPE)
        err = proc.stderr.read().decode(errors="replace")
        code, rss = wait_with_rusage(proc)
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


def test_dev_zero_is_read_in_bounded_memory_until_stopped(kafka, make_topic):
    topic = make_topic(1)
    base = baseline_rss(kafka, make_topic(1))
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.Popen(command("producer.py", kafka.plaintext_config, "-t", topic), stdin=zero,
                                stderr=subprocess.PIPE)
    read = 0
    began = time.monotonic()
    while read < 1024 * MIB:  # a GiB of NUL bytes: one line with no end
        assert proc.poll() is None, proc.stderr.read()
        with open(f"/proc/{proc.pid}/io") as io:
            read = int(dict(line.split(": ") for line in io.read().splitlines())["rchar"])
        time.sleep(0.1)
    seconds = time.monotonic() - began
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read().decode(errors="replace")
    code, rss = wait_with_rusage(proc)
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
