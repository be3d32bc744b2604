"""The house rules of ARCHITECTURE.md, held to the code: small functions, options as one value,
dependencies one way (scripts -> kafka_cli; inside kafka_cli, only the scripts use `terminal`)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [ROOT / "producer.py", ROOT / "consumer.py", ROOT / "commands" / "producer.py", ROOT / "commands" / "consumer.py"]
PACKAGE = sorted((ROOT / "kafka_cli").glob("*.py"))
MAX_PARAMETERS = 5
MAX_LINES = 50
# The per-message loops are one function each on purpose (their docstrings say why).
HOT_LOOPS = {"read_and_produce", "consume"}


def functions(path):
    tree = ast.parse(path.read_text(), str(path))
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def imported_modules(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")


@pytest.mark.parametrize("path", SCRIPTS + PACKAGE, ids=lambda p: p.name)
def test_functions_are_short_and_take_few_parameters(path):
    too_long, too_many = [], []
    for f in functions(path):
        args = f.args
        count = len(args.posonlyargs + args.args + args.kwonlyargs) + bool(args.vararg) + bool(args.kwarg)
        count -= bool(args.args and args.args[0].arg in ("self", "cls"))
        if count > MAX_PARAMETERS and f.name != "main":  # click hands main() one parameter per option
            too_many.append(f"{f.name} ({count})")
        length = f.end_lineno - f.lineno + 1
        if length > MAX_LINES and f.name not in HOT_LOOPS:
            too_long.append(f"{f.name} ({length} lines)")
    assert too_many == [] and too_long == []


@pytest.mark.parametrize("path", PACKAGE, ids=lambda p: p.name)
def test_the_package_never_imports_the_scripts_or_the_terminal_layer(path):
    imports = set(imported_modules(path))
    assert not imports & {"producer", "consumer", "commands"} and not {m for m in imports if m.startswith("commands.")}
    assert not {m for m in imports if m.endswith("terminal")}


@pytest.mark.parametrize("path", PACKAGE, ids=lambda p: p.name)
def test_every_module_says_what_it_is_for(path):
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring and len(docstring.split()) >= 8


# The process ends in one place: exit_status.run_command. dependencies.py runs before click can be imported
# (it says that click is missing), so it ends the process itself.
MAY_END_THE_PROCESS = {"exit_status.py", "dependencies.py"}


@pytest.mark.parametrize("path", SCRIPTS[2:] + PACKAGE, ids=lambda p: p.name)
def test_only_the_command_boundary_ends_the_process(path):
    tree = ast.parse(path.read_text(), str(path))
    calls = [f"{node.func.value.id}.{node.func.attr} (line {node.lineno})" for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and isinstance(node.func.value, ast.Name)
             and (node.func.value.id, node.func.attr) in {("sys", "exit"), ("os", "_exit")}]
    assert calls == [] or path.name in MAY_END_THE_PROCESS
