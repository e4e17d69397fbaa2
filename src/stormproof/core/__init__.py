"""Pure decisions: no I/O, no asyncio, no clock or randomness except as arguments."""
