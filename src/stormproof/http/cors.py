"""CORS for the routes that declare ``cors=`` (off by default): preflight and headers.

A preflight ``OPTIONS`` from an allowed origin gets 204 with the allowed method, request
headers and ``max_age``; one from another origin gets 403. Actual responses to an allowed
origin carry ``Access-Control-Allow-Origin`` (the origin itself, with ``Vary: Origin``) and
expose ``Location`` and ``Retry-After``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from stormproof.gateway.routes import CorsPolicy
from stormproof.http.problems import problem


def preflight(policy: CorsPolicy, method: str, request: Request) -> Response:
    """The answer to a CORS preflight for a route allowing ``method``."""
    origin = request.headers.get("origin")
    asked = request.headers.get("access-control-request-method", method)
    if not policy.allows(origin) or asked.upper() != method:
        return problem(403, "cors-refused", "CORS refused", "origin or method not allowed")
    return Response(
        status_code=204,
        headers={
            "access-control-allow-origin": origin or "",
            "access-control-allow-methods": method,
            "access-control-allow-headers": ", ".join(policy.headers),
            "access-control-max-age": str(policy.max_age),
            "vary": "Origin",
        },
    )


def decorate(policy: CorsPolicy | None, request: Request, response: Response) -> Response:
    """Add the CORS headers to a response for an allowed origin."""
    origin = request.headers.get("origin")
    if policy is not None and origin is not None and policy.allows(origin):
        response.headers["access-control-allow-origin"] = origin
        response.headers["access-control-expose-headers"] = "Location, Retry-After"
        response.headers["vary"] = "Origin"
    return response
