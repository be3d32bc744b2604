"""What an option applies to, said where the option is declared: `cls=MessageOption` marks one that only means
something while messages are read or written, so consumer.py's views (-L, --lag) refuse it when given, without a
hand-kept list of names that drifts as options are added."""

import click


class MessageOption(click.Option):
    """An option for reading or writing messages; a metadata view refuses it."""
