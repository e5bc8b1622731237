"""Landed migrations never change: every file is pinned by ``checksums.sha256`` beside it.

A new migration is added to the manifest in the commit that adds it; an edit of a landed file,
a manifest entry without its file, or a file missing from the manifest fails here. Also:
``schema.sql`` is the baseline's text while the baseline is the only migration, the
checksums of the migration set before the baseline are those of its files (kept as test
data), and the codes that guard a database's schema are defined and documented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tasker_ctl.engine.store.migrations import (
    LEGACY_SET,
    checksum,
    load_migrations,
    packaged_migrations_dir,
    packaged_schema,
)
from tasker_ctl.errors import DatabaseError, ExitCode, SchemaAheadError, SchemaBehindError
from tests.conftest import FIXTURES, PROJECT_ROOT

MANIFEST_NAME = "checksums.sha256"
_LINE = re.compile(r"^(?P<sha>[0-9a-f]{64}) {2}(?P<file>\d{4}_[a-z0-9_]+\.sql)$")


def manifest_problems(directory: Path) -> list[str]:
    """What is wrong between the migration files of ``directory`` and its manifest."""
    manifest = directory / MANIFEST_NAME
    if not manifest.is_file():
        return [f"{MANIFEST_NAME} is missing"]
    problems: list[str] = []
    pinned: dict[str, str] = {}
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        match = _LINE.match(line)
        if match is None:
            problems.append(f"{MANIFEST_NAME}:{number} is not `SHA256  NNNN_name.sql`: {line!r}")
            continue
        pinned[match["file"]] = match["sha"]
    present = {path.name: path for path in directory.glob("*.sql")}
    for name, sha in sorted(pinned.items()):
        if name not in present:
            problems.append(f"{name} is in the manifest but has no file")
        elif checksum(present[name].read_text(encoding="utf-8")) != sha:
            problems.append(
                f"{name} changed after it landed: add a new migration instead of editing it"
            )
    for name in sorted(set(present) - set(pinned)):
        problems.append(f"{name} is not in the manifest: add its line to {MANIFEST_NAME}")
    return problems


def _migrations_dir() -> Path:
    return Path(str(packaged_migrations_dir()))


def test_every_landed_migration_matches_the_manifest() -> None:
    assert manifest_problems(_migrations_dir()) == []
    assert [m.filename for m in load_migrations()] == sorted(
        path.name for path in _migrations_dir().glob("*.sql")
    )


@pytest.fixture
def landed(tmp_path: Path) -> Path:
    """A copy of the packaged migrations with their manifest, to break."""
    for path in [*_migrations_dir().glob("*.sql"), _migrations_dir() / MANIFEST_NAME]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert manifest_problems(tmp_path) == []
    return tmp_path


def test_an_edited_migration_fails(landed: Path) -> None:
    baseline = landed / "0001_baseline.sql"
    baseline.write_text(baseline.read_text(encoding="utf-8") + "-- one more line\n", "utf-8")
    assert manifest_problems(landed) == [
        "0001_baseline.sql changed after it landed: add a new migration instead of editing it"
    ]


def test_a_line_ending_change_is_not_an_edit(landed: Path) -> None:
    baseline = landed / "0001_baseline.sql"
    baseline.write_bytes(baseline.read_bytes().replace(b"\n", b"\r\n"))
    assert manifest_problems(landed) == []


def test_a_manifest_entry_without_its_file_fails(landed: Path) -> None:
    (landed / "0001_baseline.sql").unlink()
    assert manifest_problems(landed) == ["0001_baseline.sql is in the manifest but has no file"]


def test_a_migration_missing_from_the_manifest_fails(landed: Path) -> None:
    (landed / "0002_add_thing.sql").write_text("SELECT 1;\n", encoding="utf-8")
    assert manifest_problems(landed) == [
        f"0002_add_thing.sql is not in the manifest: add its line to {MANIFEST_NAME}"
    ]


def test_a_malformed_manifest_line_fails(landed: Path) -> None:
    with (landed / MANIFEST_NAME).open("a", encoding="utf-8") as manifest:
        manifest.write("not a checksum line\n")
    problems = manifest_problems(landed)
    assert len(problems) == 1
    assert "is not `SHA256  NNNN_name.sql`" in problems[0]


def test_schema_sql_is_the_baseline_while_no_migration_follows_it() -> None:
    # with a second migration, schema.sql moves on and only the catalog test
    # (tests/integration/test_schema_canonical.py) ties the two together
    migrations = load_migrations()
    if len(migrations) > 1:
        pytest.skip("a migration follows the baseline: schema.sql is compared by catalog")
    [baseline] = migrations
    assert baseline.filename == "0001_baseline.sql"
    assert packaged_schema().read_text(encoding="utf-8") == baseline.sql


def test_the_legacy_set_is_pinned_by_its_files() -> None:
    legacy = load_migrations(FIXTURES / "legacy_migrations")
    assert [(m.version, m.name, m.checksum) for m in legacy] == list(LEGACY_SET)


@pytest.mark.parametrize("error", [SchemaBehindError, SchemaAheadError])
def test_schema_codes_exit_2_and_are_documented(error: type[DatabaseError]) -> None:
    assert error.exit_code is ExitCode.USAGE
    database_docs = (PROJECT_ROOT / "docs" / "database.md").read_text(encoding="utf-8")
    assert f"`{error.code}`" in database_docs
