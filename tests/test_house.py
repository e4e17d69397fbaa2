"""House rules a linter does not check: an honest size budget (issue 10).

No ``# fmt: skip`` squeezes a module under its budget, and no module outgrows it.
"""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "stormproof"
MAX_LINES = 450  # the budget is ~400; past 450 a module is split along its nouns
# Modules other sessions were editing when the rule came in; they drop their skips and
# leave this list. Nothing may join it.
SKIPS_LEFT = {
    "bench/frontdoor.py",
    "bench/streams.py",
    "bench/transactions.py",
    "functions/mapping_consumer.py",
    "functions/stream_consumer.py",
    "gateway/admission.py",
    "gateway/keys.py",
    "gateway/openapi.py",
    "gateway/routes.py",
    "gateway/throttles.py",
    "machines/steps.py",
}
# Spelt in two so this file does not match itself.
SKIPS = ("fmt: " + "skip", "fmt: " + "off")


def _modules() -> dict[str, str]:
    return {p.relative_to(SRC).as_posix(): p.read_text() for p in SRC.rglob("*.py")}


def test_no_module_skips_the_formatter() -> None:
    skipping = {name for name, text in _modules().items() if any(s in text for s in SKIPS)}
    assert skipping <= SKIPS_LEFT


def test_no_module_outgrows_the_budget() -> None:
    long = {name: n for name, text in _modules().items() if (n := text.count("\n")) > MAX_LINES}
    assert long == {}
