"""The HTTP endpoint of ``stormproof bench bus``: one uvicorn worker on loopback.

``POST /t/<n>`` takes one delivered event (the bus's envelope as JSON), notes its id under
target ``n`` and, for a latency probe (``detail.t``), the seconds since it was put; it
answers 200. ``GET /count`` is how many deliveries arrived, ``GET /seen`` returns
``{"ids": {target: [event ids]}, "latency": [...]}`` and ``DELETE /seen`` forgets them
(between workloads). Run as a subprocess (``python -m``) so the endpoint does not share
the benchmarked process's CPU time.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_ids: dict[str, list[str]] = {}
_latency: list[float] = []


async def deliver(request: Request) -> Response:
    """Note one delivery."""
    event: dict[str, Any] = json.loads(await request.body())
    _ids.setdefault(request.path_params["n"], []).append(event["id"])
    sent = event.get("detail", {}).get("t")
    if sent is not None:
        _latency.append(time.time() - float(sent))
    return Response(status_code=200)


async def seen(request: Request) -> Response:
    """What was delivered so far (``DELETE``: and forget it)."""
    body = {"ids": _ids, "latency": _latency}
    response = JSONResponse(body)
    if request.method == "DELETE":
        _ids.clear()
        _latency.clear()
    return response


async def count(request: Request) -> Response:
    """How many deliveries arrived so far."""
    return JSONResponse(sum(len(v) for v in _ids.values()))


APP = Starlette(
    routes=[
        Route("/count", count, methods=["GET"]),
        Route("/t/{n}", deliver, methods=["POST"]),
        Route("/seen", seen, methods=["GET", "DELETE"]),
    ]
)


def main(argv: list[str]) -> None:
    """Serve on ``127.0.0.1:<port>`` until killed."""
    import uvicorn

    uvicorn.run(APP, host="127.0.0.1", port=int(argv[0]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
