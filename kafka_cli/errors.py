"""The errors a user can act on, and the exit codes they end in.

A CliError is printed by click as 'Error: ...' and ends the run with its exit code. Secrets are removed
from its message at the command boundary (secrets.Redactor.guard), not here.
"""

import click

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class CliError(click.ClickException):
    """A failure the user can act on. Exit 1."""

    exit_code = EXIT_FAILURE


class ConfigError(CliError):
    """Bad config file, property or option value. Exit 2."""

    exit_code = EXIT_USAGE
