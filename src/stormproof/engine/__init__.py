"""Machinery shared by every feature: breakers, limits (more moves here with issue 10)."""
