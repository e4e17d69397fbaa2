"""The storage-first front door's runtime: routes, request records, idempotency keys,
throttling and webhooks (the HTTP edge that serves them is :mod:`stormproof.http`)."""
