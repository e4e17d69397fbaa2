"""A small app for the CLI tests: two functions, a mapping, and a state machine.

``double`` returns twice ``event["n"]``; ``fail`` raises; ``orders`` is consumed by
``double`` (batches of 5, at most 2 at once); ``Doubler`` calls ``double`` in a Task.
"""

from __future__ import annotations

from typing import Any

from stormproof import App

app = App("cli-test")
orders = app.queue("orders", retention=1_209_600, visibility_timeout=60)


@app.function(timeout=10, concurrency=4)
def double(event: Any, context: Any) -> Any:
    return {"n": event["n"] * 2} if isinstance(event, dict) and "n" in event else event


@app.function(timeout=5)
def fail(event: Any, context: Any) -> Any:
    raise ValueError("always fails")


app.consume(orders, double, batch_size=5, max_concurrency=2)

DOUBLER = {
    "StartAt": "Double",
    "States": {"Double": {"Type": "Task", "Resource": "double", "End": True}},
}
app.state_machine("Doubler", DOUBLER, resources={"double": double})
