"""The core: what every other room stands on, importing no other room. The errors a user can act on and the
exit statuses (`run_command` ends the process; only kafka_cli/dependencies.py's check, run before it, exits
too), the checks a value passes before it reaches librdkafka's C code, the escaping of anything from outside
before it reaches a terminal, the sentences several messages share (words), the secrets kept out of every
output, and the escapes a person types in a separator. Anything may import it; it imports nothing of ours."""

from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.exit_status import ExitStatus, Interrupted, run_command, signal_status
from kafka_cli.core.escaping import for_terminal, shown
from kafka_cli.core.secrets import Redactor, is_secret_property
from kafka_cli.core.separators import escapes_problem, unescape
from kafka_cli.core.words import one_line

__all__ = ["CliError", "ConfigError", "ExitStatus", "Interrupted", "Redactor", "escapes_problem", "for_terminal",
           "is_secret_property", "one_line", "run_command", "shown", "signal_status", "unescape"]
