"""The errors a user can act on, and the exit codes they end in.

A CliError is printed as 'Error: ...' at the command boundary (exit_status.run_command), which ends the run
with its exit code. Secrets are removed from its message there too (secrets.Redactor.guard), not here.
"""

import click

from kafka_cli.core.escaping import shown
from kafka_cli.core.exit_status import ExitStatus


class CliError(click.ClickException):
    """A failure the user can act on. Exit 1. Its message may quote a broker, a registry or message data: it is
    shown escaped (escaping.shown), whoever built it."""

    exit_code = ExitStatus.FAILURE

    def format_message(self):
        return shown(self.message)


class ConfigError(CliError):
    """Bad config file, property or option value. Exit 2."""

    exit_code = ExitStatus.USAGE
