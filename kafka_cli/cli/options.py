"""The click options both scripts take, and the parsing of option values they share
(separators with kcat's escapes as a click type, -H NAME=VALUE headers, --timeout's seconds), CONFIG_FILE or
-b HOST:PORT in its place, -X list, and the "did you mean" of a misplaced topic or a misspelled file name."""

import difflib
import os

import click

from kafka_cli.config.ini import Bootstrap
from kafka_cli.core.boundary import c_string_problem, topic_problem
from kafka_cli.core.errors import ConfigError
from kafka_cli.core.separators import escapes_problem, unescape
from kafka_cli.core.words import one_line

class Escaped(click.ParamType):
    """-K, --null-marker, -F: text with kcat's escapes (kafka_cli.core.separators). A typo is this option's own
    usage error, the same in both scripts. Bytes out (a separator, a marker), or with as_bytes=False the checked
    text (a -F template, whose literal parts are turned into bytes when it is compiled)."""

    name = "text"

    def __init__(self, as_bytes=True):
        self.as_bytes = as_bytes

    def convert(self, value, param, ctx):
        if isinstance(value, bytes):
            return value
        problem = escapes_problem(value)
        if problem:
            self.fail(problem, param, ctx)
        return unescape(value) if self.as_bytes else value


def parse_headers(items):
    headers = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"-H {one_line(item, 60)!r}: expected NAME=VALUE")
        # the name goes to librdkafka as a C string (the value as bytes: any byte is fine there)
        problem = c_string_problem(name)
        if problem is not None:
            raise ConfigError(f"-H {one_line(ascii(name)[1:-1], 60)}=...: the header name {problem}")
        headers.append((name, os.fsencode(value)))
    return headers


PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # config.ini.example's


class ConfigPath(click.Path):
    """CONFIG_FILE: an existing file; when it is missing, the error names a file of a close name beside it
    ("did you mean config.ini?"), or says how a newcomer makes one."""

    def __init__(self):
        super().__init__(exists=True, dir_okay=False)

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as e:
            if os.path.lexists(value):
                raise
            close = close_file_name(value)
            example = "config.ini.example"
            if not os.path.exists(example):
                example = os.path.join(PROJECT_DIR, example)
            if close is not None:
                e.message += f" Did you mean {close}?"
            elif os.path.exists(example):
                e.message += f" Make it from the example and fill it in: cp {example} {value}"
            else:  # installed as a command: the example stays in the project's repository
                e.message += (" Make it from config.ini.example in the project's repository and fill it in "
                              "(bootstrap.servers, and the API key and secret for Confluent Cloud)")
            raise


# A directory this large is not searched for a close name: the error must come at once.
MAX_NAMES_LOOKED_AT = 10_000


def close_file_name(path):
    """A file beside the missing `path` whose name is close to its name (a typo: confg.ini, config.in), as the
    user would type it; None if there is none. Only names that print as they are, so the message stays one
    plain line."""
    directory, name = os.path.split(path)
    names = []
    try:
        with os.scandir(directory or ".") as entries:
            for number, entry in enumerate(entries):
                if number >= MAX_NAMES_LOOKED_AT:
                    break
                if entry.name.isprintable() and " " not in entry.name and entry.is_file():
                    names.append(entry.name)
    except OSError:
        return None
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
    return os.path.join(directory, close[0]) if close else None


class Seconds(click.FloatRange):
    """--timeout, the same rule in both scripts: a number of seconds more than 0. 0 is refused with a word on why
    (it is no 'wait forever' here), and nan, which click's range lets through, is refused too."""

    def __init__(self):
        super().__init__(min=0, min_open=True)

    def convert(self, value, param, ctx):
        try:
            seconds = super().convert(value, param, ctx)
        except click.BadParameter as e:
            if is_zero(value):
                e.message += " A wait of 0 s ends at once: give more than 0 seconds."
            raise
        if seconds != seconds:
            self.fail("must be a number of seconds, not nan", param, ctx)
        return seconds


def is_zero(value):
    try:
        return float(value) == 0
    except (TypeError, ValueError):
        return False


def check_bootstrap_option(ctx, param, servers):
    """-b: the cluster's HOST:PORT (a list, as librdkafka takes it), a C string for librdkafka."""
    if servers is None:
        return None
    if not servers.strip():
        raise click.BadParameter("must not be empty: it is the cluster's HOST:PORT")
    problem = c_string_problem(servers)
    if problem is not None:
        raise click.BadParameter(f"the address {problem}")
    return servers


def config_source(ctx):
    """What names the cluster: CONFIG_FILE (checked here, so that -b beside it is said first), or -b HOST:PORT in
    its place (a config.ini.Bootstrap, which load_config reads as a config of -b and -X alone). Exactly one;
    ctx.params["config_file"] is set to it, as everything after (the views too) reads it there."""
    path, servers = ctx.params.get("config_file"), ctx.params.get("bootstrap")
    param = next(p for p in ctx.command.params if p.name == "config_file")
    if path is not None and servers is not None:
        looks_like_topic = not os.path.lexists(path) and topic_problem(path) is None
        raise click.UsageError(f"CONFIG_FILE ({one_line(ascii(path)[1:-1], 60)}) and -b both name the cluster: give "
                               "one of them (-b for a quick look at a plaintext cluster, the file for anything else)"
                               + (f"; {ctx.command.extra_argument_hint.format(path)}" if looks_like_topic else ""))
    if path is None and servers is None:
        raise click.MissingParameter(ctx=ctx, param=param)
    source = Bootstrap(servers) if servers is not None else ConfigPath().convert(path, param, ctx)
    ctx.params["config_file"] = source
    return source


def show_properties(ctx, param, properties):
    """-X list: librdkafka's properties (name, which client, default, what it is), and exit 0, as kcat's -X list."""
    if "list" not in properties or ctx.resilient_parsing:
        return properties
    from kafka_cli.config.librdkafka_properties import property_table

    click.echo(property_table(), nl=False)
    ctx.exit()


def common_options(f):
    """CONFIG_FILE (or -b), -X, -q, -v: what both scripts take."""
    decorators = [
        # checked by config_source() at the start of main(): -b may stand in its place
        click.argument("config_file", required=False, metavar="CONFIG_FILE"),
        click.option("-b", "--bootstrap-server", "bootstrap", metavar="HOST:PORT", callback=check_bootstrap_option,
                     help="The cluster's address in place of CONFIG_FILE, for a quick look at a plaintext cluster "
                          "(kcat's -b); no secret is taken with it: a password goes in a config file."),
        click.option("-X", "--property", "properties", multiple=True, metavar="KEY=VALUE",
                     callback=show_properties,
                     help="Any librdkafka property; overrides the config file. Repeatable. -X list prints them "
                          "all and exits."),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option("-v", "--verbose", count=True,
                     help="More status on stderr; -vv adds librdkafka's debug log."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def debug_for_verbosity(config, verbosity, log=None):
    """-vv: librdkafka's debug contexts. -v and more: an OAuth login said (client, token endpoint, extensions)."""
    if verbosity >= 2:
        config.set_default("debug", "broker,topic,msg,protocol,security")
    from kafka_cli.config.oauth import login_summary

    summary = login_summary(config) if verbosity and log is not None else None
    if summary:
        log.info("%s", summary)


# -h as well as --help, as kcat and most Unix tools take it
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class SectionedCommand(click.Command):
    """A command whose --help shows the options a newcomer needs first and the rest under named headings.
    `sections` is [(heading, [parameter names])]; an option in no section goes last, under "Other options".
    Only --help pays for it: nothing is imported, and parsing is click's own. An argument too many (a topic
    given where -t was meant) is click's error with `extra_argument_hint` ("to read a topic, use -t {}") added."""

    def __init__(self, *args, sections=(), extra_argument_hint=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sections = sections
        self.extra_argument_hint = extra_argument_hint

    def parse_args(self, ctx, args):
        allowed, ctx.allow_extra_args = ctx.allow_extra_args, True  # so that click leaves the extras to us
        try:
            extra = super().parse_args(ctx, args)
        finally:
            ctx.allow_extra_args = allowed
        if extra and not allowed and not ctx.resilient_parsing:
            ctx.fail(unexpected_arguments(extra, self.extra_argument_hint))
        return extra

    def format_options(self, ctx, formatter):
        help_option = self.get_help_option(ctx)
        rows = {"help" if param is help_option else param.name: param.get_help_record(ctx)
                for param in self.get_params(ctx) if isinstance(param, click.Option)}
        placed = set()
        for heading, names in self.sections:
            records = [rows[name] for name in names if rows.get(name)]
            placed.update(names)
            if records:
                with formatter.section(heading):
                    formatter.write_dl(records)
        rest = [record for name, record in rows.items() if record and name not in placed]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)


def unexpected_arguments(extra, hint):
    """click's words for arguments too many, and the hint when each of them could be a topic name."""
    message = (f"Got unexpected extra argument{'s' if len(extra) > 1 else ''} "
               f"({' '.join(map(str, extra))})")
    if hint and len(extra) == 1 and topic_problem(extra[0]) is None and not os.path.lexists(extra[0]):
        message += "; " + hint.format(extra[0])
    return message


def version_option(prog):
    """--version: the script's version and the Kafka client it runs on (imported only when asked)."""
    def show(ctx, param, value):
        if not value or ctx.resilient_parsing:
            return
        import confluent_kafka

        from kafka_cli import __version__

        click.echo(f"{prog} {__version__} (confluent-kafka {confluent_kafka.__version__}, "
                   f"librdkafka {confluent_kafka.libversion()[0]})")
        ctx.exit()

    return click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=show,
                        help="Print the version of this script, confluent-kafka and librdkafka, and exit.")
