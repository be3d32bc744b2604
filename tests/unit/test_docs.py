"""The docs held to the code. The README, as a promise per option: every option of both scripts has help text
in --help and a row in the README's table for its script, and every row in those tables is a real option.
ARCHITECTURE.md, as a map: every module of kafka_cli/ (each room) and local_kafka/ has a row, and every
module it names exists. (The README's examples are run by tests/integration/test_readme_examples.py.)"""

import re
from pathlib import Path

import click
import pytest

from kafka_cli.cli import consumer
from kafka_cli.cli import producer

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
COMMANDS = [pytest.param(producer.main, "producer.py", id="producer"),
            pytest.param(consumer.main, "consumer.py", id="consumer")]


def option_table(script):
    """The first column of every row of the option table under the README's '## <script>' heading."""
    section = README.split(f"\n## {script}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [row.split(" | ")[0] for row in rows]


def options_of(command):
    """Every option, -h/--help included (click adds it outside command.params)."""
    return [p for p in command.get_params(click.Context(command, **command.context_settings))
            if isinstance(p, click.Option)]


def names_in(cell):
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", cell))


@pytest.mark.parametrize("command, script", COMMANDS)
def test_every_option_has_help_text(command, script):
    assert [o.name for o in options_of(command) if not (o.help or "").strip()] == []


@pytest.mark.parametrize("command, script", COMMANDS)
def test_every_option_is_in_the_help_output(command, script):
    text = command.get_help(click.Context(command, info_name=script))
    missing = [name for o in options_of(command) for name in o.opts + o.secondary_opts if name not in text]
    assert missing == []


@pytest.mark.parametrize("command, script", COMMANDS)
def test_every_option_has_a_row_in_the_readme(command, script):
    documented = set().union(*map(names_in, option_table(script)))
    missing = [name for o in options_of(command) for name in o.opts + o.secondary_opts
               if name not in documented]
    assert missing == []


@pytest.mark.parametrize("command, script", COMMANDS)
def test_every_readme_row_is_a_real_option(command, script):
    real = {name for o in options_of(command) for name in o.opts + o.secondary_opts}
    invented = [name for cell in option_table(script) for name in names_in(cell) if name not in real]
    assert invented == []


# -- ARCHITECTURE.md held to the packages ------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text()
PACKAGES = ("kafka_cli", "local_kafka")
# a module is named by its path from the project root, as `kafka_cli/config/ini.py`
NAMED_MODULE = re.compile(rf"\b((?:{'|'.join(PACKAGES)})/(?:\w+/)*\w+\.py)\b")


def test_every_module_is_in_architecture():
    """A module added to a package needs its row in ARCHITECTURE.md's 'Every module' list."""
    missing = sorted(str(path.relative_to(ROOT)) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                     if f"`{path.relative_to(ROOT)}`" not in ARCHITECTURE)
    assert not missing, ("ARCHITECTURE.md has no row for " + ", ".join(missing)
                         + ": add one under '## Every module' (the module's docstring in short)")


def test_every_module_architecture_names_exists():
    invented = sorted({name for name in NAMED_MODULE.findall(ARCHITECTURE) if not (ROOT / name).is_file()})
    assert not invented, "ARCHITECTURE.md names modules that do not exist: " + ", ".join(invented)
