"""Chaos engineering: fault injection (see docs/chaos.md).

``app.chaos.inject(Fault(...))`` stores a fault; every process whose app has chaos enabled
(``App(..., chaos=True)`` or ``STORMPROOF_CHAOS=1``) obeys it within 1 s, until it expires
on its own or ``app.chaos.stop()`` removes it.
"""

from stormproof.chaos.controller import Chaos, enabled_by_env
from stormproof.core.faults import Fault, Placement

__all__ = ["Chaos", "Fault", "Placement", "enabled_by_env"]
