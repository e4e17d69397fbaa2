"""The server ``stormproof bench frontdoor`` loads: ``python -m stormproof.http.bench_server
STORE_URL PORT``.

One uvicorn worker on 127.0.0.1 serving an app with a storage-first ``POST /orders`` (to a
queue nobody consumes, so the figure is the front door's alone) and, in the same Starlette
application, a plain ``POST /plain`` that reads the body and answers 202 without storing.
"""

from __future__ import annotations

import sys

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stormproof.app import App

QUEUE = "bench-orders"  # stormproof.bench.frontdoor counts its messages


def bench_app(store_url: str) -> App:
    """The benchmarked app: one storage-first route to a queue."""
    app = App("bench-frontdoor", store_url)
    orders = app.queue(QUEUE)
    app.api.post("/orders", to=orders)
    return app


async def plain(request: Request) -> Response:
    """The baseline: read the body, answer 202, store nothing."""
    await request.body()
    return JSONResponse({"request_id": "none", "status_url": "/requests/none"}, 202)


def main(argv: list[str]) -> None:
    """Serve until killed."""
    import uvicorn

    from stormproof.http.server import build

    store_url, port = argv[0], int(argv[1])
    asgi = build(bench_app(store_url), webhooks=False)
    asgi.add_route("/plain", plain, methods=["POST"])
    uvicorn.run(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
