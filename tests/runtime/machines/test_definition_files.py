"""Definition files resolve beside the declaring module; Task resources are checked when
the app opens (issue 11 item 9)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stormproof import App
from stormproof.errors import InvalidDefinition

DEFINITION = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_a_relative_definition_resolves_against_the_module_file(tmp_path: Path) -> None:
    pkg = tmp_path / "proj"
    pkg.mkdir()
    (pkg / "booking.asl.json").write_text(json.dumps(DEFINITION))
    (pkg / "booking_app.py").write_text(
        textwrap.dedent(
            """
            from stormproof import App
            app = App("b", "sqlite:///:memory:")
            machine = app.state_machine("Booking", definition="booking.asl.json")
            """
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = f"import sys; sys.path.insert(0, {str(pkg)!r}); import booking_app; print('ok')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_missing_file_is_one_line_naming_the_path_tried() -> None:
    app = App("m", "sqlite:///:memory:")
    with pytest.raises(InvalidDefinition) as err:
        app.state_machine("M", definition="nowhere.asl.json")
    message = str(err.value)
    assert "\n" not in message
    assert str(Path(__file__).resolve().parent / "nowhere.asl.json") in message


async def test_a_task_resource_naming_nothing_is_rejected_when_the_app_opens(
    store_url: str,
) -> None:
    app = App("m", store_url)
    app.state_machine(
        "M",
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        {
                            "StartAt": "T",
                            "States": {"T": {"Type": "Task", "Resource": "chrage", "End": True}},
                        }
                    ],
                }
            },
        },
        resources={"charge": lambda e: e},
    )
    with pytest.raises(InvalidDefinition) as err:
        await app.open()
    assert "$.States.P.Branches[0].States.T.Resource" in str(err.value)
    assert "'chrage'" in str(err.value)


async def test_functions_integrations_and_resources_are_accepted(store_url: str) -> None:
    app = App("m", store_url)

    @app.function
    async def ship(event: object, context: object) -> object:
        return event

    states = {
        "A": {"Type": "Task", "Resource": "ship", "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:ship", "Next": "C"},
        "C": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Next": "D"},
        "D": {"Type": "Task", "Resource": "local.waitForTaskToken", "End": True},
    }
    app.state_machine("M", {"StartAt": "A", "States": states}, resources={"local": print})
    async with app:
        pass
