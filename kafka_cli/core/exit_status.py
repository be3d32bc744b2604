"""The exit statuses both scripts end with, and the one function that decides which.

A command's main() returns nothing (0) or ends with click's ctx.exit(status) (the producer's summary, a view's
health): no main() returns a status. Or it raises: a click error (usage or config: 2, a CliError: 1),
Interrupted (a signal before any input was read: 128+N, nothing printed). `run_command` turns all of it into the
process's status and ends the process. The one other exit is kafka_cli/dependencies.py's, which runs before
any of this is imported and exits 2 when a required package is missing. Every 128+N is `signal_status`'s.

Whether anyone reads stderr never changes the status: stderr is made tolerant first (a write to a closed pipe
or a closed descriptor is dropped, not raised), so an error that cannot be shown still exits with its own
code, and nothing meant for stderr ever goes to stdout, the data channel.
"""

import enum
import io
import os
import sys

import click


class ExitStatus(enum.IntEnum):
    OK = 0
    FAILURE = 1  # something was not done: a line failed or is not confirmed, the broker could not be used
    USAGE = 2  # a bad option, argument or config file: nothing was done
    SIGNAL_BASE = 128  # + N: stopped by signal N after everything read was handled (130: Ctrl-C)


def signal_status(signum):
    """The status of a run that signal `signum` ended: 128+N, as a shell reports a process the signal killed."""
    return ExitStatus.SIGNAL_BASE + int(signum)


class Interrupted(Exception):
    """A signal ended the run before any input was read: exit 128+N quietly, as any Unix tool would."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class _TolerantStderr(io.TextIOBase):
    """sys.stderr that drops what it cannot write (nobody reads it any more) instead of raising."""

    def __init__(self, stream):
        super().__init__()
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except (OSError, ValueError):  # EPIPE, EBADF, or the stream was closed under us
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def isatty(self):
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self):
        return self._stream.fileno()

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", "utf-8")

    @property
    def errors(self):
        return getattr(self._stream, "errors", "backslashreplace")


def keep_stderr_harmless():
    """Descriptor 2 closed at start (2>&-) would be handed to the next file or socket opened, and librdkafka's
    log lines would go into it: hold it with /dev/null. Then make writes to stderr unable to raise."""
    try:
        os.fstat(2)
    except OSError:
        fd = os.open(os.devnull, os.O_WRONLY)
        if fd != 2:  # 0 or 1 were closed too: keep the lowest free slot as it was
            os.close(fd)
        else:
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w"), encoding="utf-8", errors="backslashreplace",
                                          line_buffering=True)
    if sys.stderr is not None and not isinstance(sys.stderr, _TolerantStderr):
        sys.stderr = _TolerantStderr(sys.stderr)


def status_of(command, args=None):
    """Run a click command without click's own exits, and return the status it ends with."""
    try:
        # Without standalone mode click's main() hands back what the command returned, or the status of a
        # ctx.exit(status) (click catches its Exit itself: --help and --version end that way too)
        result = command.main(args=args, standalone_mode=False)
    except click.exceptions.Abort:  # click's own prompt interrupted: not ours
        return ExitStatus.FAILURE
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except Interrupted as e:
        return signal_status(e.signum)
    return ExitStatus.OK if result is None else result


def stdout_gone():
    """A reader of stdout that went away (`| head`) is the user's choice, not a failure of ours: the status is 0,
    and stdout is pointed at /dev/null so that the interpreter's last flush does not fail too."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return ExitStatus.OK


def run_command(command):
    """The process's end: run `command`, then exit with its status."""
    keep_stderr_harmless()
    try:
        status = status_of(command)
        if sys.stdout is not None:  # (None when started with fd 1 closed)
            sys.stdout.flush()
    except BrokenPipeError:
        status = stdout_gone()
    sys.exit(int(status))
