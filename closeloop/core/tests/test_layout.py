"""The layout stays as docs/architecture.md says: no import cycle between two closeloop
modules, and apps import only to their left (core ← orgs ← notify ← tasks ← planning,
tracking, … ← insights, …), never a sibling and never another app's views.

A static scan of the source (ast), so it sees imports inside functions too and needs no
import to run."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the closeloop package

# Level of each app: an app may import apps of a lower level, never its own level's siblings.
# A new app gets its line here (docs/architecture.md, "Where to add a feature").
LEVELS = {
    "core": 0,
    "orgs": 1,
    "notify": 2,
    # IM sign-in: right of notify (uses the IM app channels' credentials), left of tasks.
    "imsignin": 2.5,
    "tasks": 3,
    "planning": 4,
    "tracking": 4,
    "collab": 4,
    "review": 4,
    "insights": 5,
    "sheets": 5,
}
# Above every app: wiring and tooling that may import any of them.
TOP = {"api", "urls", "settings", "settings_test", "conftest", "wsgi", "run", "manage", "demo", "testing"}
# Below every app: plain modules any of them may use.
BASE = {"env", "demo_info"}


def _source_modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if "tests" in parts or "migrations" in parts or ".venv" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every closeloop module `path` imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from closeloop.tasks import services` imports the module closeloop.tasks.services.
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                for a in node.names
            ]
        else:
            continue
        found.update(n for n in names if n.startswith("closeloop.") and n in modules)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _source_modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _app(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_no_two_modules_import_each_other():
    assert _cycles(_graph()) == []


def test_the_scan_finds_a_cycle_when_there_is_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_apps_import_only_to_their_left_and_never_another_apps_views():
    wrong = []
    for module, imported in _graph().items():
        app = _app(module)
        if not app or app in TOP or app in BASE or module.endswith(".demo"):
            continue  # wiring, tooling, and each app's demo seeding (run by closeloop.demo)
        assert app in LEVELS, f"{module}: give its app a level in LEVELS"
        for target in imported:
            other = _app(target)
            if other == app or other in BASE:
                continue
            if other not in LEVELS or LEVELS[other] >= LEVELS[app]:
                wrong.append(f"{module} imports {target}")
            elif ".views" in target:
                wrong.append(f"{module} imports another app's views: {target}")
    assert wrong == []


def test_core_imports_no_app():
    for module, imported in _graph().items():
        if _app(module) == "core":
            assert {_app(t) for t in imported} <= {"core"} | BASE, module
