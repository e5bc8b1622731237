"""Templates validated before: running an unchanged template again skips reading and checking it.

``load_valid`` answers what ``validator.load_checked`` answers for a template without errors
(the model, resolved for the environment, and the content hash), from a folder of JSON
entries when it has validated the same bytes before. An entry's key is made of everything
the answer depends on: the file's bytes, the environment, this tasker-ctl's version, a
fingerprint of the code that checks templates (the size and modification time of every module
of the template, grammar and planning packages, and the rule plugins installed, with their
distributions' versions), and the schemas registered in this process for ``$ref`` to reach.
Editing a rule, installing a plugin, upgrading or registering another schema is a new key.

Only templates without errors are stored, so a template with errors is read and checked on
every run and its findings are reported as before. An entry that cannot be read or does not
make a model is a miss (and is replaced). The model is validated from the stored JSON on
every hit, so an entry never yields what the model would refuse. The folder holds the newest
``MAX_ENTRIES`` entries; it belongs to the state folder, as trusted as the database beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tasker_ctl
from tasker_ctl.schema_refs import registrations_digest
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.template.rules import plugin_entry_points
from tasker_ctl.template.source import read_bytes

MAX_ENTRIES = 200
"""Entries kept: writing one more removes the oldest."""

ENTRY_FORMAT = 1
"""Part of every key: a change to what an entry holds makes every older entry a miss."""
# the packages whose code decides what a template's check answers
_CHECKING_PACKAGES = ("template", "grammar", "planning")


@dataclass(frozen=True)
class ValidTemplate:
    """A template without errors: its model (resolved for the environment) and content hash."""

    template: TaskTemplate
    content_hash: str


def load_valid(
    path: str | Path, *, environment: str | None = None, cache_dir: Path | None = None
) -> ValidTemplate:
    """The template at ``path``, checked as ``load_checked`` checks it (raising what it
    raises), or as it was checked before when ``cache_dir`` holds an entry for these bytes.
    Without ``cache_dir`` nothing is stored."""
    shown = str(path)
    raw = read_bytes(Path(path), shown)
    entry = None if cache_dir is None else cache_dir / f"{_key(raw, environment)}.json"
    if entry is not None:
        found = _read(entry)
        if found is not None:
            return found
    # the reader and the validator, only for a template not checked before
    from tasker_ctl.template.source import parse_document
    from tasker_ctl.template.validator import loaded_document

    loaded = loaded_document(
        parse_document(raw, path=Path(path), display_path=shown), path, environment=environment
    )
    valid = ValidTemplate(loaded.template, loaded.content_hash)
    if entry is not None:
        _write(entry, valid)
    return valid


def _key(raw: bytes, environment: str | None) -> str:
    digest = hashlib.sha256()
    for part in (
        str(ENTRY_FORMAT).encode(),
        tasker_ctl.__version__.encode(),
        code_fingerprint().encode(),
        registrations_digest().encode(),
        (environment or "").encode("utf-8", "surrogatepass"),
        raw,
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@cache
def code_fingerprint() -> str:
    """What the checking code is, once per process: its modules' sizes and modification
    times, and the rule plugins installed with their distributions' versions."""
    root = Path(tasker_ctl.__file__).parent
    parts = []
    for package in _CHECKING_PACKAGES:
        for module in sorted((root / package).rglob("*.py")):
            stat = module.stat()
            parts.append(f"{module.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}")
    with contextlib.suppress(Exception):  # a broken installation's metadata: no plugins known
        for entry in plugin_entry_points():
            dist = entry.dist
            version = f"{dist.name}=={dist.version}" if dist is not None else "?"
            parts.append(f"plugin:{entry.name}={entry.value}@{version}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _read(entry: Path) -> ValidTemplate | None:
    try:
        stored = json.loads(entry.read_bytes())
        valid = ValidTemplate(
            TaskTemplate.model_validate(stored["template"]), str(stored["content_hash"])
        )
    except Exception:  # missing, unreadable, truncated or refused by the model: a miss
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # the newest entries are kept
    return valid


def _write(entry: Path, valid: ValidTemplate) -> None:
    """Store ``valid`` under ``entry`` (whole or not at all: a temporary file renamed), then
    keep the newest ``MAX_ENTRIES``. A folder that cannot be written is no error: the next
    run checks the template again."""
    document = {
        "template": valid.template.model_dump(mode="json", by_alias=True, exclude_unset=True),
        "content_hash": valid.content_hash,
    }
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file, ensure_ascii=False, separators=(",", ":"))
        os.replace(temporary, entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    _prune(entry.parent)


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=_modified, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            old.unlink()


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
