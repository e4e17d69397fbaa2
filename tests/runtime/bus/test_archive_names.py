"""An archive name is validated before it is looked up on the app's other buses."""

from __future__ import annotations

from pathlib import Path

import pytest

from stormproof import App
from stormproof.errors import InvalidAttribute


def test_an_unhashable_archive_name_is_invalid_not_a_type_error(tmp_path: Path) -> None:
    app = App("t", f"sqlite:///{tmp_path}/never-opened.db")
    app.bus("other")
    with pytest.raises(InvalidAttribute) as info:
        app.bus().archive([1])  # type: ignore[arg-type]
    assert info.value.field == "name"
