"""Before anything else is imported: are the scripts' Python packages installed? If not, one line says
which and how to install them, instead of a ModuleNotFoundError traceback. Standard library only."""

import importlib.util
import os
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
