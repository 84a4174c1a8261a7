"""The package's layout holds: no import cycle, dependencies pointing one way, imports at the top.

Read from the source with `ast`, as a newcomer reads it: each module's imports
of the package, resolved to the package's own modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"

#: What the bottom layer (and the stages that must stand on it alone) may import of the package.
BOTTOM = {"pipeline.errors", "pipeline.config", "pipeline.clock"}
#: Libraries only the command line uses.
CLI_ONLY = ("click", "rich")
#: Libraries only the console and the API use.
WEB_ONLY = ("fastapi", "starlette", "uvicorn", "jinja2")
#: The layers on top: the daemon, the console and API, the command line (which may start the other two).
TOPS = ("pipeline.cli", "pipeline.daemon", "pipeline.web")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def imports(name: str, path: Path, *, top_only: bool = False) -> set[str]:
    """The package's modules (and outside libraries, by their top name) a module imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    nodes = tree.body if top_only else ast.walk(tree)
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                module = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            candidates = {f"{module}.{a.name}" for a in node.names}
            out |= {c for c in candidates if c in MODULES} or {module}
            out.add(module)
    return {m if m in MODULES or m.startswith("pipeline") else m.split(".")[0] for m in out} - {name}


def internal(name: str) -> set[str]:
    return {m for m in imports(name, MODULES[name]) if m in MODULES and not name.startswith(m + ".")}


def test_the_package_has_no_import_cycle():
    graph = {name: internal(name) for name in MODULES}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif not state.get(nxt):
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [])
    assert cycles == []


@pytest.mark.parametrize("layer", ["pipeline.read", "pipeline.normalize"])
def test_readers_and_normalizers_stand_on_the_bottom_layer_alone(layer):
    for name in MODULES:
        if name == layer or name.startswith(layer + "."):
            outside = {m for m in internal(name) if not (m == layer or m.startswith(layer + "."))}
            assert outside <= BOTTOM, f"{name} imports {sorted(outside - BOTTOM)}"


def test_errors_config_and_clock_are_the_bottom():
    for name in BOTTOM:
        assert internal(name) <= BOTTOM, f"{name} imports {sorted(internal(name) - BOTTOM)}"


def test_the_store_imports_no_stage():
    allowed = BOTTOM | {"pipeline.hooks", "pipeline.plan"}
    for name in MODULES:
        if name.startswith("pipeline.store"):
            outside = {m for m in internal(name) if not m.startswith("pipeline.store")}
            assert outside <= allowed, f"{name} imports {sorted(outside - allowed)}"


def test_only_the_daemon_the_console_and_the_command_line_stand_on_top():
    for name in MODULES:
        if not name.startswith((*TOPS, "pipeline.__main__")):
            above = {m for m in internal(name) if m.startswith(TOPS)}
            assert not above, f"{name} imports {sorted(above)}"


def test_the_daemon_and_the_console_stand_side_by_side():
    """Only the command line combines them (`contacts serve --watch`)."""
    for name in MODULES:
        for low, high in (("pipeline.web", ("pipeline.daemon", "pipeline.cli")),
                          ("pipeline.daemon", ("pipeline.web", "pipeline.cli"))):
            if name.startswith(low):
                above = {m for m in internal(name) if m.startswith(high)}
                assert not above, f"{name} imports {sorted(above)}"


def test_nothing_outside_the_console_uses_the_web_libraries():
    for name, path in MODULES.items():
        if not name.startswith("pipeline.web"):
            used = imports(name, path, top_only=True) & set(WEB_ONLY)
            assert not used, f"{name} imports {sorted(used)}"


def test_nothing_below_the_command_line_uses_its_libraries():
    for name, path in MODULES.items():
        if not name.startswith(("pipeline.cli", "pipeline.__main__")):
            used = imports(name, path) & set(CLI_ONLY)
            assert not used, f"{name} imports {sorted(used)}"


def test_imports_are_at_the_top_of_modules():
    """A deferred import is allowed only where the top cannot have it (a platform's optional module), or for a
    measured start-up cost that the line before it states (`# Deferred import: ... (measured)`)."""
    late = []
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        top = {id(node) for node in tree.body}
        guarded = {id(n) for node in tree.body if isinstance(node, ast.Try) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top | guarded:
                said = lines[node.lineno - 2].strip()
                if not (said.startswith("# Deferred import:") and "measured" in said):
                    late.append(f"{name}:{node.lineno}")
    assert late == []


def test_no_long_function_without_a_reason():
    """A function over 60 lines says in its docstring why it is kept whole."""
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                doc = ast.get_docstring(node) or ""
                if not any(word in doc for word in ("whole", "one function", "One function", "in one place")):
                    long.append(f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == []


def test_no_environment_variable_drives_test_behaviour():
    """Pause points and the store's comparisons are hooks that tests install, not variables production reads."""
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        assert "PAUSE" not in text, name
