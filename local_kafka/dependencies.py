"""Before the launcher imports click or makes anything on disk: are its Python packages importable? If not,
one line says which are missing and what to run instead, and the exit code is 2 (as the scripts do).
Standard library only."""

import importlib
import os
import shlex
import sys

REQUIRED = (("click", "click"), ("confluent_kafka", "confluent-kafka"))  # (module, package on PyPI)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def missing_packages():
    """The PyPI names of the required packages that do not import (absent, or broken for this Python)."""
    missing = []
    for module, package in REQUIRED:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def project_path(name):
    """`name` in the project, as short as it can be written from the current directory."""
    return name if os.path.abspath(os.getcwd()) == ROOT else os.path.join(ROOT, name)


def require_installed(argv):
    """Exit 2 with one line on stderr if a required package is missing."""
    missing = missing_packages()
    if not missing:
        return
    several = len(missing) > 1
    venv_python = project_path(os.path.join(".venv", "bin", "python"))
    instead = f"`{shlex.join([venv_python, '-m', 'local_kafka', *argv])}`"
    if not os.path.exists(venv_python):
        instead += " (after `make demo` has made .venv)"
    make_dir = "" if project_path(".") == "." else f"-C {shlex.quote(ROOT)} "
    make = f"`make {make_dir}kafka-{argv[0]}`, or " if argv[:1] in (["start"], ["stop"]) else ""
    sys.stderr.write(f"python -m local_kafka: the Python package{'s' if several else ''} {' and '.join(missing)} "
                     f"{'are' if several else 'is'} not installed for {sys.executable}: run {make}{instead}, "
                     f"or install {'them' if several else 'it'} with "
                     f"`pip install -r {project_path('requirements.txt')}`\n")
    sys.exit(2)
