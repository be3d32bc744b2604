#!/usr/bin/env python3
"""Print the messages of Kafka topics on stdout. The command is kafka_cli/cli/consumer.py; `./consumer.py --help` says how to use it."""

import signal

if __name__ == "__main__":
    # Until main() installs its handler, Ctrl-C ends the process at once like any Unix tool (status 130):
    # no KeyboardInterrupt traceback from an import, no click 'Aborted!' (exit 1). Nothing is read yet.
    signal.signal(signal.SIGINT, signal.SIG_DFL)

    import os

    from kafka_cli.dependencies import require_installed

    require_installed("consumer.py", os.path.dirname(os.path.abspath(__file__)))

    from kafka_cli.cli.consumer import run_as_script

    run_as_script()
