"""Chaos experiments: a steady-state hypothesis checked before, during and after faults
injected under load, with a report that reconciles every record (docs/chaos-experiments.md).

``load_experiment`` reads a file, :class:`Runner` runs it, ``report`` writes what happened;
``@Ledger(app).recorded`` on a handler makes "processed" a measured count, and
:class:`Dependency` is a loopback HTTP dependency an experiment can switch down.
"""

from __future__ import annotations

from stormproof.experiments.dependency import Dependency, DependencyError
from stormproof.experiments.injector import Faults, Injector
from stormproof.experiments.ledger import Ledger, Reconciliation
from stormproof.experiments.loading import load_experiment
from stormproof.experiments.runner import Outcome, Runner
from stormproof.experiments.spec import Experiment, parse

__all__ = [
    "Dependency",
    "DependencyError",
    "Experiment",
    "Faults",
    "Injector",
    "Ledger",
    "Outcome",
    "Reconciliation",
    "Runner",
    "load_experiment",
    "parse",
]
