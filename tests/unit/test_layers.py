"""Every layer imports only the layers below it, and no module is part of an import circle.

Read from the source (every import statement, also those inside functions and under
TYPE_CHECKING), so a lazy import that crosses a layer or closes a circle is caught too:
a type-only circle is one refactor away from a real one.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "quiz"

# What the UI may import; the command line may import all of it, and the UI and server too.
_UI = {
    "core",
    "paths",
    "config",
    "runner",
    "store",
    "library",
    "trust_review",
    "session",
    "sealed",
    "checking",
}
# What each top-level part of quiz may import (besides itself). A part not listed here fails the
# test: a new package must say where it stands.
ALLOWED: dict[str, set[str]] = {
    "core": set(),  # pure domain: no UI, no database, no framework, nothing of quiz outside core
    "paths": set(),
    "sealed": {"paths"},
    "config": {"core", "paths"},
    "trust_review": {"core"},
    "runner": {"core", "paths", "config"},
    "store": {"core", "paths"},
    "checking": {"core", "paths", "config", "runner"},
    "library": {"core", "paths", "config", "sealed", "store", "trust_review"},
    # The study layer: the study session, dashboards, grading, exams, the prepared start, personal
    # scheduling and the composition root that builds them. Never the UI or the command line.
    "session": {"core", "paths", "config", "sealed", "runner", "store", "library", "checking"},
    # The UI: everything of the study layer, never the command line.
    "tui": _UI,
    "serve": {"core", "paths", "config", "runner", "store", "library", "session", "tui"},
    "commands": _UI | {"__version__", "serve", "tui", "cli"},
    "cli": {"__version__", "core", "config", "paths", "commands"},
    "__main__": {"cli"},
    "__init__": set(),
}


def _modules() -> dict[str, Path]:
    mods = {}
    for p in ROOT.rglob("*.py"):
        parts = ["quiz", *p.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


MODULES = _modules()


def _resolve(name: str) -> str:
    """The module a dotted import name lands in (`quiz.core.queue.pick_next` → `quiz.core.queue`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(path: Path) -> list[tuple[str, int]]:
    """(module imported, line) for every import of quiz in the file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "quiz" or node.module.startswith("quiz."):
                for alias in node.names:
                    found.append((_resolve(f"{node.module}.{alias.name}") or node.module, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: relative import; quiz imports by absolute name")
        elif isinstance(node, ast.Import):
            found += [(_resolve(a.name), node.lineno) for a in node.names if a.name.startswith("quiz")]
    return found


GRAPH: dict[str, set[str]] = defaultdict(set)
LINES: dict[tuple[str, str], int] = {}
for _mod, _path in MODULES.items():
    for _target, _line in _imports(_path):
        if _target and _target != _mod:
            GRAPH[_mod].add(_target)
            LINES.setdefault((_mod, _target), _line)


def _part(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_the_layers_it_may(module: str) -> None:
    part = _part(module)
    assert part in ALLOWED, f"{module}: say in ALLOWED which layers quiz.{part} may import"
    crossing = sorted(
        f"{MODULES[module]}:{LINES[(module, t)]}: {module} imports {t}"
        for t in GRAPH[module]
        if _part(t) != part
        and _part(t) not in ALLOWED[part]
        and not (t == "quiz" and "__version__" in ALLOWED[part])
    )
    assert not crossing, "\n".join(crossing)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    counter = 0
    for start in sorted(MODULES):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_no_module_is_part_of_an_import_circle() -> None:
    circles = _circles(GRAPH)
    assert not circles, "import circles (lazy and type-only imports count): " + "; ".join(
        " ↔ ".join(c) for c in circles
    )


def test_the_circle_finder_finds_a_circle() -> None:
    # The guard above must be able to fail: two modules importing each other are one circle.
    graph = {"quiz.core.queue": {"quiz.core.scheduling"}, "quiz.core.scheduling": {"quiz.core.queue"}}
    assert _circles(graph) == [["quiz.core.queue", "quiz.core.scheduling"]]
