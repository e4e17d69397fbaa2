"""Test support: finding or starting PostgreSQL."""
