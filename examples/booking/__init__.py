"""The booking system example: ``stormproof dev examples.booking:app``."""

from examples.booking.app import app

__all__ = ["app"]
