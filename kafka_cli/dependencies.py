"""Before anything else is imported: are the scripts' Python packages installed? If not, one line says
which and how to install them, instead of a ModuleNotFoundError traceback. Standard library only.

Also the installed commands' entry points (pyproject.toml: kafka-consumer, kafka-producer): they do what
./consumer.py and ./producer.py do before the command is imported. The command's module is named by a string, as
in pyproject.toml, so that nothing of ours (and not click) is imported before SIGINT is reset and the check ran."""

import importlib
import importlib.util
import os
import signal
import sys

REQUIRED = (("click", "click"), ("confluent_kafka", "confluent-kafka"))  # (module, package on PyPI)


def require_installed(prog, script_dir):
    """Exit 2 with one line on stderr if a required package is missing; cheap otherwise (no import)."""
    missing = [package for module, package in REQUIRED if importlib.util.find_spec(module) is None]
    if not missing:
        return
    how = (f"install {'them' if len(missing) > 1 else 'it'} with `pip install -r requirements.txt`, or run `make demo` "
           "(it creates .venv) and use .venv/bin/python")
    venv = os.path.join(script_dir, ".venv")
    if os.path.isdir(venv) and not os.path.realpath(sys.prefix).startswith(os.path.realpath(venv)):
        how = f"this Python is not the one in {venv}: activate it first (. {venv}/bin/activate), or " + how
    sys.stderr.write(f"{prog}: the Python package{'s' if len(missing) > 1 else ''} {' and '.join(missing)} "
                     f"{'are' if len(missing) > 1 else 'is'} not installed for {sys.executable}: {how}\n")
    sys.exit(2)


def console_main(prog, module):
    """An installed command: what the top-level script does, then `module`.run_as_script() (which ends the process)."""
    # Until the command installs its handler, Ctrl-C ends the process at once like any Unix tool (status 130).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    require_installed(prog, os.path.dirname(os.path.abspath(sys.argv[0])))
    importlib.import_module(module).run_as_script()


def consumer_main():
    """kafka-consumer: ./consumer.py, installed."""
    console_main("consumer.py", "kafka_cli.cli.consumer")


def producer_main():
    """kafka-producer: ./producer.py, installed."""
    console_main("producer.py", "kafka_cli.cli.producer")
