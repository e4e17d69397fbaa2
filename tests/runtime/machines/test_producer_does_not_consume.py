"""A producer that opens an App never runs work (issue 11 item 7)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from stormproof import App
from stormproof.worker import Worker

PRODUCER = textwrap.dedent(
    """
    import asyncio, sys
    from stormproof import App

    app = App("producer", sys.argv[1])
    ran = sys.argv[2]

    def charge(event):
        open(ran, "a").write("charged\\n")
        return event

    app.state_machine(
        "Pay",
        {"StartAt": "Charge", "States": {"Charge": {"Type": "Task", "Resource": "charge",
                                                   "End": True}}},
        resources={"charge": charge},
    )

    async def main():
        async with app:
            print(await app.start_execution("Pay", {"n": 1}, name="one"))
            await asyncio.sleep(1.0)  # a consumer in this process would run the Task now

    asyncio.run(main())
    """
)


async def test_a_producer_script_leaves_the_execution_untouched(
    store_url: str, tmp_path: Path
) -> None:
    script, ran = tmp_path / "producer.py", tmp_path / "ran.txt"
    script.write_text(PRODUCER)
    done = subprocess.run(
        [sys.executable, str(script), store_url, str(ran)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    arn = done.stdout.strip()
    assert not ran.exists(), "the producer ran the Task function"
    app = App("reader", store_url)
    async with app:
        info = await app.describe_execution(arn)
        assert info.status == "RUNNING"
        history = await app.get_execution_history(arn)
        assert not [e["type"] for e in history if "Task" in e["type"]]


async def test_a_worker_runs_the_steps_and_tasks(store_url: str) -> None:
    ran: list[str] = []
    app = App("w", store_url)
    definition = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "a", "End": True}}}
    app.state_machine("M", definition, resources={"a": lambda e: ran.append("a") or e})
    async with app:
        arn = await app.start_execution("M", {})
        assert ran == []
        worker = Worker(app)
        while (await app.describe_execution(arn)).status == "RUNNING":
            await worker.run_once()
        await worker.shutdown()
        assert ran == ["a"]
        assert (await app.describe_execution(arn)).status == "SUCCEEDED"
