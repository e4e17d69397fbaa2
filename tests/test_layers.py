"""The layer rules of docs/design.md §2-3, enforced by walking the package with ast.

Every import counts: absolute, relative, function-local and ``TYPE_CHECKING`` ones.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import stormproof

SRC = Path(__file__).resolve().parents[1] / "src" / "stormproof"
DRIVERS = {"sqlite3", "psycopg", "psycopg_pool"}
# Pure libraries a core language may use (DESIGN.md §2).
CORE_THIRD_PARTY = {"jsonata"}
BACKENDS = {
    "stormproof.storage.sqlite",
    "stormproof.storage.postgres",
    "stormproof.storage.sqlite_writer",
    "stormproof.storage.pg_listener",
    "stormproof.storage.pg_pool",
    "stormproof.storage.pg_url",
    "stormproof.storage.sqlite_errors",
    "stormproof.storage.sqlite_open",
}
# A module imports only its own package or lower ranks.
RANKS: dict[str, float] = {
    "errors": 0,
    "config": 0,
    "clock": 0,
    "core": 1,
    "patterns": 1.5,
    "webhooks": 1.5,  # public facades over core
    "storage": 2,
    "engine": 3,
    "telemetry": 3.5,
    "chaos": 3.5,  # import engine and below; only app and cli import them
    "queues": 4,
    "streams": 4,
    "functions": 5,
    "bus": 6,
    "machines": 7,
    "gateway": 8,
    "app": 9,
    "worker": 9.5,
    "bench": 9.8,
    "http": 9.9,  # cli runs the benchmarks and starts the HTTP server
    "cli": 10,
    "lint": 9.9,  # cli runs the linter
    "experiments": 9.95,  # chaos experiments drive an app (and its HTTP server); cli runs them
    "testing": 10,
    "__init__": 11,
    "__main__": 11,
}
# The bare-SQL baselines of the benchmarks need the drivers' own connections.
BACKEND_USERS = {"storage", "bench"}
APP_USERS = {
    "app",
    "worker",
    "cli",
    "http",
    "lint",
    "bench",
    "testing",
    "experiments",
    "__init__",
    "__main__",
}
OBSERVERS = {"telemetry", "chaos"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["stormproof", *parts])


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    is_package = MODULES[importer].name == "__init__.py"
    base = importer.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imports_of(module: str) -> tuple[str, ...]:
    """Every module ``module`` imports (stormproof modules resolved to the exact module)."""
    tree = ast.parse(MODULES[module].read_text())
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            found += subs if len(subs) == len(node.names) else [target, *subs]
    return tuple(found)


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _rank_violations(module: str) -> list[str]:
    mine, bad = _top(module), []
    for name in imports_of(module):
        if not name.startswith("stormproof"):
            continue
        other = _top(name)
        if other == mine:
            continue
        if RANKS[other] >= RANKS[mine] or (other in OBSERVERS and mine not in {"app", "cli"}):
            bad.append(name)
        if name in BACKENDS and mine not in BACKEND_USERS:
            bad.append(name)
        if other == "app" and mine not in APP_USERS:
            bad.append(name)
    return bad


def test_every_package_has_a_rank() -> None:
    assert {_top(m) for m in MODULES} <= set(RANKS)


def test_modules_import_only_their_own_package_or_lower_ranks() -> None:
    found = {m: v for m in MODULES if (v := _rank_violations(m))}
    assert found == {}


def test_the_module_graph_has_no_cycle() -> None:
    graph = {m: {n for n in imports_of(m) if n in MODULES and n != m} for m in MODULES}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert cycles == []


def test_core_is_pure() -> None:
    for module, path in MODULES.items():
        if _top(module) != "core":
            continue
        for name in imports_of(module):
            top = name.split(".")[0]
            if name.startswith("stormproof"):
                assert name == "stormproof.errors" or _top(name) == "core", (path, name)
            else:
                assert top in CORE_THIRD_PARTY or _stdlib(top), (path, name)
                assert top not in DRIVERS | {"asyncio"}, (path, name)


def test_only_the_storage_layer_touches_drivers() -> None:
    for module, path in MODULES.items():
        tops = {n.split(".")[0] for n in imports_of(module)}
        if _top(module) not in BACKEND_USERS:
            assert not DRIVERS & tops, path
        elif _top(module) == "storage" and ("psycopg" in tops or "psycopg_pool" in tops):
            assert path.stem == "postgres" or path.stem.startswith("pg_"), path


def test_public_names_are_complete_and_sorted() -> None:
    public = {n for n in vars(stormproof) if not n.startswith("_") and n[0].isupper()}
    assert stormproof.__all__ == sorted(stormproof.__all__)
    assert public <= set(stormproof.__all__)


def _stdlib(top: str) -> bool:
    return top in sys.stdlib_module_names or top == "__future__"
