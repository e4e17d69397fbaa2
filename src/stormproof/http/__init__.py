"""The HTTP edge of the front door: a Starlette app served by uvicorn (``stormproof[server]``)."""
