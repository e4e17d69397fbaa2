"""The layer rules of DESIGN.md §2, enforced by walking the package with ast."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "stormproof"
DRIVERS = {"sqlite3", "psycopg", "psycopg_pool"}
# Pure libraries a core language may use (DESIGN.md §2).
CORE_THIRD_PARTY = {"jsonata"}
EDGES = {"cli", "http", "bench"}
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


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _layer(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    if parts[0] == "core":
        return "core"
    if parts[0] == "storage":
        return "storage"
    if parts[0] in EDGES or path.stem in EDGES | {"__main__"}:
        return "edge"
    return "runtime"


def _violations(path: Path) -> list[str]:
    layer, bad = _layer(path), []
    for name in _imports(path):
        top = name.split(".")[0]
        if layer == "core":
            ok_std = top not in DRIVERS and top not in {"asyncio"} and top != "stormproof"
            ok_sp = name in ("stormproof.errors",) or name.startswith("stormproof.core")
            third = top in CORE_THIRD_PARTY
            if not (ok_sp or third or (ok_std and not _third_party(top))):
                bad.append(name)
        elif layer == "storage":
            if name.startswith("stormproof.") and not name.startswith(
                ("stormproof.core", "stormproof.errors", "stormproof.storage")
            ):
                bad.append(name)
            postgres_backend = path.stem == "postgres" or path.stem.startswith("pg_")
            if top in DRIVERS - {"sqlite3"} and not postgres_backend:
                bad.append(name)
        elif layer == "runtime":
            if any(name.startswith(f"stormproof.{e}") for e in EDGES) or top in DRIVERS:
                bad.append(name)
            if name in BACKENDS and path.stem != "app":
                bad.append(name)
    return bad


def _third_party(top: str) -> bool:
    import sys

    return top not in sys.stdlib_module_names and top != "__future__"


def test_layer_rules_hold() -> None:
    found = {str(p.relative_to(SRC)): v for p in SRC.rglob("*.py") if (v := _violations(p))}
    assert found == {}


def test_only_the_storage_layer_touches_drivers() -> None:
    for path in SRC.rglob("*.py"):
        if _layer(path) in ("runtime", "core"):
            assert not DRIVERS & {n.split(".")[0] for n in _imports(path)}, path
