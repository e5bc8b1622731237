"""The pages that describe the project configuration and `db status --json` name exactly what
the models hold, so that a key or a field added to one shows up in the other."""

from __future__ import annotations

import re

from pydantic import BaseModel

from tasker_ctl.project_config import ProjectSettings
from tasker_ctl.report.config_view import ConfigOutput
from tasker_ctl.report.db_view import StatusOutput
from tests.conftest import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"


def _table_keys(text: str, heading: str) -> set[str]:
    """The first column of the table that follows ``heading``, without backticks."""
    section = text.split(heading, 1)[1]
    keys: set[str] = set()
    started = False
    for line in section.splitlines():
        if line.startswith("|"):
            started = True
            cell = line.split("|")[1].strip()
            keys.update(re.findall(r"`([^`]+)`", cell))
        elif started:
            break
    return keys


def _fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _fields(annotation, f"{prefix}{name}.")
        else:
            names.add(f"{prefix}{name}")
    return names


def test_every_configuration_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert _table_keys(text, "## Keys") == set(ProjectSettings.model_fields)
    for key in ProjectSettings.model_fields:
        assert re.search(rf"^{key} = ", text, re.MULTILINE), f"{key} missing from the example"


def test_the_config_show_document_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = _table_keys(text, "`tasker-ctl config show --json` prints one object")
    assert {"version", "tool", "config_file"} <= documented
    assert set(ConfigOutput.model_fields) == {"version", "tool", "config_file", "settings"}


def test_the_db_status_document_is_documented() -> None:
    text = (DOCS / "database.md").read_text(encoding="utf-8")
    documented = _table_keys(text, "### `db status --json`")
    fields = (_fields(StatusOutput) - {"tool.name", "tool.version"}) | {"tool"}
    assert fields == documented
