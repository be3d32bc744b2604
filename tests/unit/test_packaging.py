"""pyproject.toml held to the code: its console scripts name functions that exist and lead to the commands, its
version is kafka_cli.__version__, its dependencies are requirements.txt's, every package of ours is in the wheel.
(tests/integration/test_installed.py builds and installs the wheel and runs the commands.)"""

import ast
import importlib
import re
import signal
import sys
import tomllib
import types
from pathlib import Path

import pytest

import kafka_cli
from kafka_cli import dependencies

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def entry_point(name):
    module, _, attribute = PROJECT["scripts"][name].partition(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize("name", ["kafka-consumer", "kafka-producer", "local-kafka"])
def test_every_console_script_names_a_function_that_exists(name):
    assert callable(entry_point(name))


@pytest.mark.parametrize("name, prog, module", [("kafka-consumer", "consumer.py", "kafka_cli.cli.consumer"),
                                                ("kafka-producer", "producer.py", "kafka_cli.cli.producer")])
def test_the_commands_entry_runs_the_scripts_command(monkeypatch, name, prog, module):
    called = []
    monkeypatch.setattr(dependencies, "console_main", lambda *args: called.append(args))
    entry_point(name)()
    assert called == [(prog, module)]
    assert callable(importlib.import_module(module).run_as_script)


def test_the_entry_resets_sigint_and_checks_the_packages_before_the_command_is_imported(monkeypatch):
    seen = {}
    command = types.ModuleType("fake_command")
    command.run_as_script = lambda: seen.update(sigint=signal.getsignal(signal.SIGINT))
    monkeypatch.setitem(sys.modules, "fake_command", command)
    monkeypatch.setattr(dependencies, "require_installed", lambda prog, where: seen.update(checked=prog))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as Python starts (the fixture puts pytest's back)
    dependencies.console_main("consumer.py", "fake_command")
    assert seen == {"checked": "consumer.py", "sigint": signal.SIG_DFL}


def test_the_launchers_entry_is_its_main():
    import local_kafka.__main__

    assert entry_point("local-kafka") is local_kafka.__main__.main


def test_the_version_is_kafka_clis():
    assert "version" in PROJECT["dynamic"] and "version" not in PROJECT
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "kafka_cli.__version__"}
    # setuptools reads it without importing the package only if it is a literal
    tree = ast.parse((ROOT / "kafka_cli" / "__init__.py").read_text())
    literals = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__version__"]
                and isinstance(node.value, ast.Constant)]
    assert literals == [kafka_cli.__version__]


def requirement_lines(path):
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_the_dependencies_are_requirements_txt():
    assert PROJECT["dependencies"] == requirement_lines(ROOT / "requirements.txt")


def test_the_python_it_requires_is_the_one_the_readme_names():
    minimum = re.fullmatch(r">=(\d+\.\d+)", PROJECT["requires-python"]).group(1)
    assert f"Python {minimum}+" in (ROOT / "README.md").read_text()
    assert sys.version_info >= tuple(map(int, minimum.split(".")))


@pytest.mark.parametrize("package", ["kafka_cli", "local_kafka"])
def test_every_directory_of_code_is_a_package_the_wheel_takes(package):
    """setuptools' find takes only directories with an __init__.py: a room without one would be left out."""
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert package in include and f"{package}.*" in include
    for directory in {path.parent for path in (ROOT / package).rglob("*.py")}:
        assert (directory / "__init__.py").exists(), directory


def test_no_file_but_python_is_needed_in_the_packages():
    """The wheel holds .py files only (include-package-data is off): a data file in a package would be missing
    once installed. local_kafka/demo.sh is `make demo`'s, run from the clone."""
    assert PYPROJECT["tool"]["setuptools"]["include-package-data"] is False
    others = {str(path.relative_to(ROOT)) for package in ("kafka_cli", "local_kafka")
              for path in (ROOT / package).rglob("*") if path.is_file() and "__pycache__" not in path.parts
              and path.suffix != ".py"}
    assert others == {"local_kafka/demo.sh"}
