"""The house rules of ARCHITECTURE.md held to local_kafka too: a docstring on every module, no function over
about 50 lines or five parameters."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "local_kafka").glob("*.py"))
MAX_PARAMETERS = 5
MAX_LINES = 50


def functions(path):
    tree = ast.parse(path.read_text(), str(path))
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_the_launcher_is_split_into_rooms():
    assert {p.stem for p in MODULES} >= {"broker", "cluster", "jars", "tls", "node_config", "process", "state"}
    assert all(len(p.read_text().splitlines()) < 400 for p in MODULES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_functions_are_short_and_take_few_parameters(path):
    too_long, too_many = [], []
    for f in functions(path):
        args = f.args
        count = len(args.posonlyargs + args.args + args.kwonlyargs) + bool(args.vararg) + bool(args.kwarg)
        count -= bool(args.args and args.args[0].arg in ("self", "cls"))
        if count > MAX_PARAMETERS:
            too_many.append(f"{f.name} ({count})")
        if f.end_lineno - f.lineno + 1 > MAX_LINES:
            too_long.append(f"{f.name} ({f.end_lineno - f.lineno + 1} lines)")
    assert too_many == [] and too_long == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_module_says_what_it_is_for(path):
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring and len(docstring.split()) >= 8
