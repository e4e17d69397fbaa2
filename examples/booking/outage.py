"""The payment outage of the demo's second phase.

``how="chaos"`` injects a fault (stormproof's chaos API: every process on the store obeys
it within a second, and it expires on its own); when ``stormproof.chaos`` is not installed
it falls back to ``how="simulator"``, which tells the payment API itself to answer 503
(``POST /admin/outage``). Either way Reserve Payment fails, the shared breaker opens, and
the charges wait in the ``payments`` queue until it closes again.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import httpx

from examples.booking.settings import payment_url

HOWS = ("chaos", "simulator")


def chaos_available() -> bool:
    """Whether this install has the chaos fault API."""
    return importlib.util.find_spec("stormproof.chaos") is not None


async def start_payment_outage(app: Any, seconds: float, how: str = "chaos") -> str:
    """Make the payment API fail for ``seconds``; returns how it was done."""
    if how not in HOWS:
        raise ValueError(f"how={how!r}: allowed values {HOWS}")
    if not 0 < seconds <= 86400:
        raise ValueError(f"seconds={seconds}: allowed range (0, 86400]")
    if how == "chaos" and chaos_available() and hasattr(app, "chaos"):
        await _inject(app, seconds)
        return "chaos"
    await _simulate(seconds)
    return "simulator"


async def _inject(app: Any, seconds: float) -> None:
    # --8<-- [start:chaos]
    from stormproof.chaos import Fault

    fault = Fault(
        target="function:charge_payment",  # every invocation of the payment consumer
        action="error",
        error="ConnectionError",  # as if the provider's load balancer were gone
        duration=seconds,  # the fault expires on its own
        name="payment-outage",
    )
    await app.chaos.inject(fault)
    # --8<-- [end:chaos]


async def _simulate(seconds: float) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.post(f"{payment_url()}/admin/outage", json={"seconds": seconds})
        answer.raise_for_status()
