"""The click options both scripts take, and the parsing of option values they share
(separators with kcat's escapes as a click type, -H NAME=VALUE headers)."""

import os

import click

from kafka_cli.core.boundary import c_string_problem
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
    """CONFIG_FILE: an existing file; when it is missing, the error says how a newcomer makes one."""

    def __init__(self):
        super().__init__(exists=True, dir_okay=False)

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as e:
            if os.path.lexists(value):
                raise
            example = "config.ini.example"
            if not os.path.exists(example):
                example = os.path.join(PROJECT_DIR, example)
            if os.path.exists(example):
                e.message += f" Make it from the example and fill it in: cp {example} {value}"
            else:  # installed as a command: the example stays in the project's repository
                e.message += (" Make it from config.ini.example in the project's repository and fill it in "
                              "(bootstrap.servers, and the API key and secret for Confluent Cloud)")
            raise


def common_options(f):
    """CONFIG_FILE, -X, -q, -v: what both scripts take."""
    decorators = [
        click.argument("config_file", type=ConfigPath()),
        click.option("-X", "--property", "properties", multiple=True, metavar="KEY=VALUE",
                     help="Any librdkafka property; overrides the config file. Repeatable."),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option("-v", "--verbose", count=True,
                     help="More status on stderr; -vv adds librdkafka's debug log."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def debug_for_verbosity(config, verbosity):
    if verbosity >= 2:
        config.set_default("debug", "broker,topic,msg,protocol,security")


# -h as well as --help, as kcat and most Unix tools take it
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class SectionedCommand(click.Command):
    """A command whose --help shows the options a newcomer needs first and the rest under named headings.
    `sections` is [(heading, [parameter names])]; an option in no section goes last, under "Other options".
    Only --help pays for it: nothing is imported, and parsing is click's own."""

    def __init__(self, *args, sections=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.sections = sections

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
