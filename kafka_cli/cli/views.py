"""consumer.py -L (the cluster's brokers, topics and partitions, with a health summary), --lag (a consumer
group's lag per partition, once or --watch'ed) and -Q (offsets for a time, as kcat -Q): the command side of
the views, which read no message.

consumer.py's main() hands its click context here when -L or --lag is given; this module turns the options
into one frozen ViewOptions, builds an AdminClient from the same config file, asks kafka_cli.views.listing
or kafka_cli.views.lag for the facts, and writes what kafka_cli.views.render makes of them. No consumer is
built: nothing joins a group, fetches or commits.
"""

import errno
import logging
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass

import click
from click.core import ParameterSource

from kafka_cli.client.build import build_client
from kafka_cli.views.listing import gather_listing, missing_topics, topic_selector
from kafka_cli.config.ini import DEFAULT_TOPIC, file_warnings, load_config
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.option_kinds import MessageOption
from kafka_cli.core.exit_status import ExitStatus, signal_status, stdout_gone
from kafka_cli.views.lag import check_group, gather_lag, keep_for_rates, movements
from kafka_cli.client.kafka_errors import ClusterErrors
from kafka_cli.client.watched import Watched
from kafka_cli.cli.options import debug_for_verbosity
from kafka_cli.core.secrets import Redactor
from kafka_cli.core.words import cannot_write_stdout, one_line, stdout_closed
from kafka_cli.cli.terminal import setup_logging
from kafka_cli.views.render import lag_json, lag_text, listing_json, listing_text

DEFAULT_TIMEOUT = 30.0  # seconds, as the producer's --timeout
# --watch: a look a day at most; a larger (or infinite) pause is no watch, and time.sleep() refuses one past
# about 292 years with an OverflowError after the first look
MAX_WATCH = 86400.0


@dataclass(frozen=True)
class ViewOptions:
    """What the command line asks of a view, built once in run_view()."""

    view: str  # "list" (-L) or "lag" (--lag)
    selector: object  # cluster_listing.TopicSelector from -t
    include_internal: bool  # --all
    group: str  # -g, or None (then group.id from the config)
    json: bool  # -f json
    timeout: float  # --timeout, for every answer
    watch: float  # --watch SECONDS, or None
    terminal: bool  # stdout is a terminal: --watch redraws in place


def given(ctx, name):
    return ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE


def view_options(ctx):
    """ViewOptions from consumer.py's parsed options; ConfigError (exit 2) for a combination that makes no sense."""
    p = ctx.params
    if p["list_cluster"] == p["lag"]:
        raise ConfigError("-L/--list and --lag are two views: give one of them" if p["lag"]
                          else "--all goes with -L/--list, --watch with --lag")
    view = "list" if p["list_cluster"] else "lag"
    # the options say themselves that they are for messages (cls=MessageOption where they are declared)
    stray = [param.opts[0] for param in ctx.command.params if isinstance(param, MessageOption) and given(ctx, param.name)]
    stray += ["-g"] if view == "list" and given(ctx, "group") else []
    stray += ["--all"] if view == "lag" and p["show_all"] else []
    stray += ["--watch"] if view == "list" and p["watch"] is not None else []
    if stray:
        raise ConfigError(f"{', '.join(stray)}: not with {'-L' if view == 'list' else '--lag'}")
    if p["output_format"] not in ("text", "json"):
        raise ConfigError(f"-f {p['output_format']}: -L and --lag print text or json")
    if p["timeout"] is not None and p["timeout"] <= 0:
        raise ConfigError("--timeout: must be more than 0 seconds for -L and --lag")
    if p["watch"] is not None and not 0 < p["watch"] <= MAX_WATCH:  # (also refuses nan: 1,393 looks in 5 s)
        raise ConfigError(f"--watch: must be a number of seconds more than 0 and at most {MAX_WATCH:.0f} (a day), "
                          f"not {p['watch']:g}")
    # Only -t from the command line: KAFKA_TOPIC names the topic to read every day, and a listing or a
    # group's lag should not silently shrink to it.
    topics = p["topics"] if given(ctx, "topics") else ()
    group = check_group(p["group"], "-g") if p["group"] is not None else None
    if sys.stdout is None:  # `>&-`: Python has no stdout, and the client's first socket would take descriptor 1
        raise CliError(stdout_closed("the listing" if view == "list" else "the lag"))
    return ViewOptions(view, topic_selector(topics), p["show_all"], group, p["output_format"] == "json",
                       p["timeout"] if p["timeout"] is not None else DEFAULT_TIMEOUT, p["watch"],
                       sys.stdout.isatty())


def run_view(ctx):
    """-L or --lag, from consumer.py's click context; ends the process with the view's exit code."""
    p = ctx.params
    redactor = Redactor()
    with redactor.guard():
        options = view_options(ctx)
        log, client_log = setup_logging("consumer.py", p["verbose"], p["quiet"], redactor)
        config = load_config(p["config_file"], "consumer", p["properties"], redactor)
        for warning in file_warnings(config):
            log.warning("%s", warning)
        debug_for_verbosity(config, p["verbose"], log)
        group = view_group(options, config)
        from confluent_kafka.admin import AdminClient

        client_log.addFilter(NotForAdmin())
        errors = ClusterErrors(config, log)
        # its metadata questions in slices, so a refused login or a broker nobody answers on is said within
        # 2 s, as the consumer and the producer say it, rather than at --timeout
        admin = Watched(build_client(AdminClient, config, error_cb=errors, logger=client_log), errors,
                        "still trying until --timeout")
        # consumer.py starts with Ctrl-C killing the process outright; from here it is a KeyboardInterrupt, so
        # that the exit status is 130 whichever way the parent looks at it (a killed process has none)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            code = show(admin, options, group, config, errors)
        except KeyboardInterrupt:  # Ctrl-C: the normal end of --watch; nothing more is printed
            code = signal_status(signal.SIGINT)  # 130, as a shell reports a process ended by SIGINT
        except BrokenPipeError:  # | head: a quiet end, as for the messages
            code = stdout_gone()
    ctx.exit(code)


class NotForAdmin(logging.Filter):
    """The AdminClient is built from the same [default]+[consumer] settings as the consumer, and librdkafka
    warns about each consumer property in them (group.id, auto.offset.reset...): true, and nothing to fix."""

    def filter(self, record):
        return "is a consumer property and will be ignored" not in record.getMessage()


def view_group(options, config):
    """--lag's group: -g, else group.id from the config file (checked like -g); None for -L."""
    if options.view != "lag" or options.group is not None:
        return options.group
    group = config.get("group.id")
    if group is None:
        raise ConfigError(f"--lag needs a group: -g ID, or group.id in the [consumer] section of {config.path}")
    return check_group(group, config.origin("group.id"))


def show(admin, options, group, config, errors):
    """Gather, render, write; the exit code. A failure the error callback explained (a refused login,
    a certificate) is told in its words rather than as a timeout."""
    try:
        if options.view == "list":
            listing = gather_listing(admin, options.selector, options.include_internal, options.timeout, config)
            if options.json or listing.topics or not listing.missing:  # (text of no topic: the error says it all)
                write(listing_json(listing) if options.json else listing_text(listing))
            say_none_visible(listing, options, errors.log)
            say_missing(listing.missing, config)
            return ExitStatus.FAILURE if listing.health().failing else ExitStatus.OK
        if options.watch is None:
            lag = gather_lag(admin, group, options.selector, options.timeout, config)
            if options.json or lag.partitions or not lag.missing:
                write(lag_json(lag) if options.json else lag_text(lag))
            say_missing(lag.missing, config)
            return ExitStatus.OK
        watch(admin, options, group, config)
    except CliError as e:
        admin.poll(0)  # the AdminClient hands its error callback what it saw only when polled
        if errors.fatal and not isinstance(e, ConfigError):
            raise CliError(errors.fatal)
        raise
    return ExitStatus.OK


def say_none_visible(listing, options, log):
    """-L of every topic that found none: a cluster lists only the topics a client may describe, so a client
    without rights sees an empty cluster; say both readings once, on stderr (the listing itself is data)."""
    if options.selector.everything and not listing.topics:
        log.warning("the cluster lists no topics to this client: it has none yet, or this client may describe none "
                    "(its ACLs; on Confluent Cloud, the role bindings of its API key or identity pool)")


def say_missing(names, config):
    """-t named topics the cluster does not have: after what could be shown of the others, one line, exit 1."""
    if names:
        raise CliError(missing_topics(names, config.get("bootstrap.servers")))


def write(text):
    """`text` on stdout, now. A reader that went away (EPIPE) is BrokenPipeError, a quiet end (run_view); any
    other failure (a full disk, /dev/full) is one line and exit 1."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as e:
        if e.errno == errno.EPIPE:
            raise
        # what stays in the buffer would fail again in the interpreter's last flush, with a traceback: it goes
        # to /dev/null instead (it could not be written anyway)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise CliError(cannot_write_stdout(e.strerror or e)) from None


def watch(admin, options, group, config):
    """--lag --watch: a new look every `options.watch` seconds until Ctrl-C (KeyboardInterrupt), each drawn
    over the last on a terminal, or written after it into a pipe; the rate of each partition's lag, or that it
    is caught up, comes from the looks of the last RATE_WINDOW seconds (kafka_cli/views/lag.py, movements()).
    A -t topic the cluster does not have ends it after the first look, as it ends a single look."""
    screen = Screen(options.terminal and not options.json)
    looks = []
    while True:
        started = time.monotonic()
        now = gather_lag(admin, group, options.selector, options.timeout, config)
        moved = movements(looks, now)
        screen.draw(lag_json(now, moved) if options.json else lag_text(now, moved))
        say_missing(now.missing, config)
        looks = keep_for_rates(looks + [now])
        time.sleep(max(0.0, options.watch - (time.monotonic() - started)))


class Screen:
    """Where --watch draws: on a terminal each look replaces the last in place (cursor home, each line
    cleared to its end, the rest of the screen cleared), cut to the terminal's height so the redraw never
    scrolls; elsewhere each look is plain lines, a blank line between two looks."""

    HOME, CLEAR_SCREEN, CLEAR_LINE, CLEAR_BELOW = "\033[H", "\033[2J", "\033[K", "\033[J"

    def __init__(self, in_place):
        self.in_place = in_place
        self.looks = 0

    def draw(self, text):
        if not self.in_place:
            write(("\n" if self.looks and not text.startswith("{") else "") + text)
        else:
            lines = text.rstrip("\n").split("\n")
            rows = shutil.get_terminal_size().lines - 1
            if len(lines) > rows:
                lines = lines[:rows - 1] + [f"... {len(lines) - rows + 1} more lines (-f json or a pipe shows all)"]
            first = self.CLEAR_SCREEN if self.looks == 0 else ""
            write(self.HOME + first + "".join(line + self.CLEAR_LINE + "\n" for line in lines) + self.CLEAR_BELOW)
        self.looks += 1


# -- -Q: offsets for a time, as kcat -Q prints them ---------------------------------------------------------
def run_query(ctx, config_file):
    """-Q: per partition, the first offset at or after the -o time, printed as kcat -Q prints it."""
    from kafka_cli.consume.query import offsets_for_time

    topics, partitions, position = query_options(ctx)
    p = ctx.params
    redactor = Redactor()
    with redactor.guard():
        if sys.stdout is None:  # `>&-`, as for the other views
            raise CliError(stdout_closed("the offsets"))
        log, client_log = setup_logging("consumer.py", p["verbose"], p["quiet"], redactor)
        config = load_config(config_file, "consumer", p["properties"], redactor)
        debug_for_verbosity(config, p["verbose"], log)
        found = offsets_for_time(config, (topics, partitions, position.value), p["timeout"], log, client_log)
        sys.stdout.write("".join(f"{topic} [{partition}] offset {-1 if offset is None else offset}\n"
                                 for (topic, partition), offset in found))


def query_options(ctx):
    """-Q's topics, partitions and -o time; ConfigError (exit 2) for what does not go with it."""
    from kafka_cli.consume.positions import parse_position  # (and datetime: only -Q pays for it)

    p = ctx.params
    given = [param.opts[0] for param in ctx.command.params
             if (isinstance(param, MessageOption) or param.name in ("group", "output_format", "json_output"))
             and param.name not in ("query", "partitions", "start")
             and ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE]
    if given:
        raise ConfigError(f"{', '.join(given)}: not with -Q, which prints offsets only")
    topics = tuple(p["topics"]) or (DEFAULT_TOPIC,)
    if any(t.startswith("^") for t in topics):
        raise ConfigError("-Q needs topic names, not a ^pattern")
    needs = ("an -o time: @EPOCH_MS, ISO 8601 (2026-11-24T14:00:00Z) or a duration back from now (15m, 2h); it "
             "prints the offset of the first message at or after that time")
    if p["start"] is None:
        raise ConfigError(f"-Q needs {needs}")
    position = parse_position(p["start"])
    if position.kind != "time":
        raise ConfigError(f"-Q -o {one_line(position.text, 40)!r}: not a time; -Q needs {needs}")
    return topics, tuple(sorted(set(p["partitions"]))), position
