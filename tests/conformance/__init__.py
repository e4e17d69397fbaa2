"""Conformance tests: recorded AWS behaviour (the vectors in ``vectors/``) driven through
stormproof. The vectors are part of the repository, so these tests never skip."""

from pathlib import Path

VECTORS = Path(__file__).resolve().parent / "vectors"
"""The recorded AWS vectors (Apache-2.0, from LocalStack: see ``vectors/NOTICE``)."""
