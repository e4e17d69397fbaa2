"""``stormproof breakers`` and ``stormproof limits`` on both stores: list, show, force open
and closed (seen by a running app's breaker), reset; read-only commands create no store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stormproof import App
from stormproof.cli import main
from stormproof.core.breaker import State
from stormproof.errors import BreakerOpen


def _cli(store_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--store", store_url, *args])
    return result.exit_code, result.stdout, result.stderr


async def _seed(store_url: str) -> None:
    app = App("c", store_url)
    b = app.breaker("payments", consecutive_failures=1)
    limit = app.limit("airline", rate=5, burst=5)
    async with app:
        with pytest.raises(RuntimeError):
            async with b:
                raise RuntimeError("down")
        await limit.take(1, key="tenant-42")


def test_breakers_and_limits_commands(store_url: str) -> None:
    asyncio.run(_seed(store_url))
    code, out, _ = _cli(store_url, "breakers", "ls", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["name"], r["state"]) for r in rows] == [("payments", "open")]
    code, out, _ = _cli(store_url, "breakers", "close", "payments", "--by", "alice", "--json")
    assert code == 0 and json.loads(out)["state"] == "closed"
    assert "forced closed by alice" in json.loads(out)["reason"]
    code, out, _ = _cli(store_url, "breakers", "open", "payments", "--by", "bob")
    assert code == 0 and "bob" in out

    async def seen() -> None:
        app = App("c", store_url)
        b = app.breaker("payments")
        async with app:
            with pytest.raises(BreakerOpen):
                await b.admit()
            assert b.state.state is State.OPEN

    asyncio.run(seen())
    code, out, _ = _cli(store_url, "breakers", "reset", "payments")
    assert code == 0
    code, out, _ = _cli(store_url, "breakers", "show", "payments", "--json")
    assert code == 1  # reset: no stored state any more
    code, out, _ = _cli(store_url, "limits", "show", "airline", "--json")
    assert code == 0 and json.loads(out)[0]["key"] == "tenant-42"
    code, out, _ = _cli(store_url, "limits", "ls")
    assert code == 0 and "airline" in out
    code, _, err = _cli(store_url, "limits", "show", "nope")
    assert code == 1 and err.startswith("error: no limit 'nope'")


def test_read_only_commands_create_no_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/none/s.db"
    for args in (["breakers", "ls"], ["breakers", "show", "x"], ["limits", "ls"]):
        code, _, err = _cli(url, *args)
        assert code == 1 and err.startswith("error: no store at")
    assert not (tmp_path / "none").exists()
