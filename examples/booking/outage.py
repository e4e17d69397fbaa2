"""The payment outage of the demo's second phase.

``how="chaos"`` (the default) injects a fault with stormproof's chaos API: every process
of the store whose app obeys faults (``STORMPROOF_CHAOS=1``, which the demo sets for its
``stormproof dev`` and workers) fails each invocation of ``charge_payment`` with a
``ConnectionError`` within a second, and the fault expires on its own. ``how="simulator"``
tells the payment API itself to answer 503 (``POST /admin/outage``) instead, for a fleet
that does not obey faults. Either way Reserve Payment fails, the shared breaker opens, and
the charges wait in the ``payments`` queue until it closes again.
"""

from __future__ import annotations

from typing import Any

import httpx

from examples.booking.settings import payment_url
from stormproof import Fault

HOWS = ("chaos", "simulator")


async def start_payment_outage(app: Any, seconds: float, how: str = "chaos") -> str:
    """Make the payment API fail for ``seconds``; returns how it was done."""
    if how not in HOWS:
        raise ValueError(f"how={how!r}: allowed values {HOWS}")
    if not 0 < seconds <= 86400:
        raise ValueError(f"seconds={seconds}: allowed range (0, 86400]")
    if how == "chaos":
        await inject(app, seconds)
    else:
        await simulate(seconds)
    return how


async def inject(app: Any, seconds: float) -> str:
    """The fault, stored for every obeying process; returns its id."""
    # --8<-- [start:chaos]
    fault = Fault(
        target="function:charge_payment",  # every invocation of the payment consumer
        action="error",
        error="ConnectionError",  # as if the provider's load balancer were gone
        duration=seconds,  # the fault expires on its own
        name="payment-outage",
    )
    fault_id: str = await app.chaos.inject(fault)
    # --8<-- [end:chaos]
    return fault_id


async def simulate(seconds: float) -> None:
    """The payment API's own outage switch."""
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.post(f"{payment_url()}/admin/outage", json={"seconds": seconds})
        answer.raise_for_status()
