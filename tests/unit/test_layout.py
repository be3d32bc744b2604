"""The house rules of ARCHITECTURE.md, held to the code: the rooms of kafka_cli/ and which may import which
(every import counted, those inside functions too), no import circle between modules, small functions, one
place that ends the process, a docstring on every module."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "kafka_cli"
PACKAGE = sorted(PACKAGE_DIR.rglob("*.py"))
SCRIPTS = [ROOT / "producer.py", ROOT / "consumer.py"]

# Which room may import which. A room not listed for another is above it, or beside it: never imported by it.
# The root (kafka_cli/__init__.py, dependencies.py) holds the version and the check run before anything else.
ROOMS = {
    "root": set(),
    "core": set(),
    "config": {"core"},
    "client": {"core", "config"},
    "produce": {"core", "config", "client"},
    "consume": {"core", "config", "client"},
    "views": {"core", "config", "client"},
    "schema": {"core", "config", "client", "produce", "consume"},
    "cli": {"root", "core", "config", "client", "produce", "consume", "views", "schema"},
}
MAX_PARAMETERS = 5
MAX_LINES = 50
# The per-message loops are one function each on purpose (their docstrings say why).
HOT_LOOPS = {"read_and_produce", "consume"}


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(module):
    parts = module.split(".")
    if parts[0] != "kafka_cli":
        return None
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ROOMS) else "root"


def imports_of(path):
    """Every module of ours that `path` imports, anywhere in it (at the top, in functions, in TYPE_CHECKING):
    (module, line). `from kafka_cli.room import name` counts as the room's face, or as the module `name`."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split(".")).with_suffix(".py")).exists() or \
                    (ROOT / Path(*candidate.split(".")) / "__init__.py").exists()
                found.append((candidate if is_module else base, node.lineno))
    return [(name, line) for name, line in found if name == "kafka_cli" or name.startswith("kafka_cli.")]


def test_every_module_is_in_a_room_of_the_table():
    rooms = {room_of(module_name(path)) for path in PACKAGE}
    assert rooms <= set(ROOMS), rooms - set(ROOMS)
    assert {p.name for p in PACKAGE_DIR.glob("*.py")} == {"__init__.py", "dependencies.py"}  # the rest in rooms


@pytest.mark.parametrize("path", PACKAGE, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_a_room_imports_only_the_rooms_below_it(path):
    room = room_of(module_name(path))
    wrong = [f"{name} (line {line})" for name, line in imports_of(path)
             if room_of(name) != room and room_of(name) not in ROOMS[room]]
    assert wrong == [], f"the {room} room may import {sorted(ROOMS[room]) or 'no other room'}"


def module_graph():
    graph = {}
    for path in PACKAGE:
        me = module_name(path)
        graph[me] = {name for name, _ in imports_of(path) if name != me}
    return graph


def cycles(graph):
    """Every import circle, as the list of modules around it (found by a depth-first walk)."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_no_module_imports_itself_round_a_circle():
    # a room's face (its __init__) imports its own modules, which import each other through their full names:
    # the face is left out of the walk, since importing a submodule does not run it again
    graph = {name: {n for n in deps if not n.count(".") == 1 or n == name}
             for name, deps in module_graph().items() if name.count(".") != 1}
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_room_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    planted = PACKAGE_DIR / "core" / "_planted_for_test.py"
    planted.write_text('"""Planted by test_layout to see an import inside a function is counted."""\n\n\n'
                       "def f():\n    from kafka_cli.cli.terminal import setup_logging\n    return setup_logging\n")
    try:
        assert ("kafka_cli.cli.terminal", 5) in imports_of(planted)
        with pytest.raises(AssertionError, match="the core room may import no other room"):
            test_a_room_imports_only_the_rooms_below_it(planted)
    finally:
        planted.unlink()


@pytest.mark.parametrize("path", SCRIPTS + PACKAGE, ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_are_short_and_take_few_parameters(path):
    too_long, too_many = [], []
    for f in (node for node in ast.walk(ast.parse(path.read_text(), str(path)))
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))):
        args = f.args
        count = len(args.posonlyargs + args.args + args.kwonlyargs) + bool(args.vararg) + bool(args.kwarg)
        count -= bool(args.args and args.args[0].arg in ("self", "cls"))
        if count > MAX_PARAMETERS and f.name != "main":  # click hands main() one parameter per option
            too_many.append(f"{f.name} ({count})")
        length = f.end_lineno - f.lineno + 1
        if length > MAX_LINES and f.name not in HOT_LOOPS:
            too_long.append(f"{f.name} ({length} lines)")
    assert too_many == [] and too_long == []


@pytest.mark.parametrize("path", PACKAGE, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_every_module_says_what_it_is_for(path):
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring and len(docstring.split()) >= 8


# The process ends in one place: core/exit_status.run_command. dependencies.py runs before click can be imported
# (it says that click is missing), so it ends the process itself.
MAY_END_THE_PROCESS = {"kafka_cli.core.exit_status", "kafka_cli.dependencies"}


@pytest.mark.parametrize("path", PACKAGE, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_only_the_command_boundary_ends_the_process(path):
    tree = ast.parse(path.read_text(), str(path))
    calls = [f"{node.func.value.id}.{node.func.attr} (line {node.lineno})" for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and isinstance(node.func.value, ast.Name)
             and (node.func.value.id, node.func.attr) in {("sys", "exit"), ("os", "_exit")}]
    assert calls == [] or module_name(path) in MAY_END_THE_PROCESS


def test_a_plain_start_loads_no_schema_library():
    import subprocess
    import sys

    code = ("import sys; import kafka_cli.cli.consumer, kafka_cli.cli.producer, kafka_cli.cli.views; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('fastavro', 'jsonschema', 'google', 'httpx', 'regex', 'grpc_tools', 'confluent_kafka')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "[]\n"
