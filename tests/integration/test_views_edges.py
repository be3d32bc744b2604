"""consumer.py -L and --lag at the edges of their output and options, as processes against the real broker: stdout
closed (>&-), full (/dev/full) or gone (a reader that quit); --watch values that are no number of seconds to
wait (inf, 1e308, nan, more than a day)."""

import subprocess
import sys

import pytest
from confluent_kafka import Consumer, TopicPartition

from .scripts import ROOT, produce


def view(config, *args, stdout=subprocess.PIPE, timeout=60):
    """consumer.py CONFIG ARGS with the given stdout; (exit status, stderr as text)."""
    result = subprocess.run([sys.executable, str(ROOT / "consumer.py"), str(config), *args], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout)
    return result.returncode, result.stderr.decode(errors="replace")


def closed_stdout(config, *args):
    """consumer.py with descriptor 1 closed, as `>&-` leaves it."""
    command = [sys.executable, str(ROOT / "consumer.py"), str(config), *args]
    result = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", *command], cwd=ROOT, stdin=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, timeout=60)
    return result.returncode, result.stderr.decode(errors="replace")


@pytest.fixture
def group_with_lag(kafka, topic, group):
    """A group that committed offset 1 of partition 0 of `topic`, which holds 3 messages there."""
    assert produce(kafka.plaintext_config, topic, ["k:1", "k:2", "k:3"], "-X", "partitioner=consistent").returncode == 0
    member = Consumer({**kafka.client_settings("plaintext"), "group.id": group})
    try:
        member.commit(offsets=[TopicPartition(topic, p, 1) for p in range(3)], asynchronous=False)
    finally:
        member.close()
    return group


def one_error_line(err):
    lines = err.splitlines()
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


@pytest.mark.parametrize("args", [["-L"], ["-L", "-f", "json"]], ids=["text", "json"])
def test_listing_to_a_closed_stdout_is_one_line_exit_1(kafka, args):
    code, err = closed_stdout(kafka.plaintext_config, *args)
    assert one_error_line(err) == ("Error: stdout is closed: there is nowhere to print the listing (use > FILE or "
                                   "> /dev/null)")
    assert code == 1


def test_lag_to_a_closed_stdout_is_one_line_exit_1(kafka, topic, group_with_lag):
    code, err = closed_stdout(kafka.plaintext_config, "--lag", "-g", group_with_lag, "-t", topic)
    assert one_error_line(err) == "Error: stdout is closed: there is nowhere to print the lag (use > FILE or > /dev/null)"
    assert code == 1


@pytest.mark.parametrize("args", [["-L"], ["-L", "-f", "json"], ["--lag"], ["--lag", "-f", "json"],
                                  ["--lag", "--watch", "0.2"]], ids=lambda a: " ".join(a))
def test_a_full_stdout_is_one_line_exit_1(kafka, topic, group_with_lag, args):
    extra = ["-g", group_with_lag, "-t", topic] if "--lag" in args else []
    with open("/dev/full", "wb") as full:
        code, err = view(kafka.plaintext_config, *args, *extra, stdout=full)
    assert one_error_line(err) == "Error: cannot write to stdout: No space left on device"
    assert code == 1


@pytest.mark.parametrize("args", [["-L"], ["--lag", "--watch", "0.1"]], ids=["-L", "--lag --watch"])
def test_a_reader_that_went_away_is_a_quiet_exit_0(kafka, topic, group_with_lag, args):
    """`| head -c 10`: the reader quits after a few bytes; the view ends quietly (the output was wanted no more;
    --watch writes again until it meets the closed pipe)."""
    extra = ["-g", group_with_lag, "-t", topic] if "--lag" in args else []
    command = [sys.executable, str(ROOT / "consumer.py"), str(kafka.plaintext_config), *args, *extra]
    pipeline = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    pipeline.stdout.read(10)
    pipeline.stdout.close()  # the reader goes away
    _, err = pipeline.communicate(timeout=60)
    assert pipeline.returncode == 0 and err == b"", err


@pytest.mark.parametrize("seconds", ["inf", "1e308", "nan", "-inf", "86401"])
def test_watch_must_be_a_number_of_seconds_up_to_a_day(kafka, topic, group_with_lag, seconds):
    """inf and 1e308 raised OverflowError after the first look; nan was taken, and looked 1,393 times in 5 s."""
    code, err = view(kafka.plaintext_config, "--lag", "-g", group_with_lag, "-t", topic, "--watch", seconds,
                     timeout=30)
    assert "Traceback" not in err, err
    assert code == 2, err
    assert "--watch" in err.splitlines()[-1], err
