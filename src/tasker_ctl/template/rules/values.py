"""Value checks Tasker Core skips: version format, timestamps, retry settings, ranges."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeGuard

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.rules import rule
from tasker_ctl.template.source import JsonPath

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

# Ranges Tasker Core documents on its structs but never enforces: (low, high).
_STEP_RANGES: dict[tuple[str, ...], tuple[int, int]] = {
    ("retry", "max_attempts"): (1, 100),
    ("retry", "backoff_base_ms"): (100, 3_600_000),
    ("retry", "max_backoff_ms"): (1000, 3_600_000),
    ("timeout_seconds",): (1, 3600),
    ("batch_config", "batch_size"): (1, 100_000),
    ("batch_config", "parallelism"): (1, 1000),
}
_LIFECYCLE_RANGES: dict[str, tuple[int, int]] = {
    "max_duration_minutes": (1, 43_200),
    "max_waiting_for_dependencies_minutes": (1, 10_080),
    "max_waiting_for_retry_minutes": (1, 10_080),
    "max_steps_in_process_minutes": (1, 10_080),
}


@rule("INVALID_VERSION")
def semantic_version(context: RuleContext) -> Iterator[Issue]:
    version = context.text("version")
    if version is None or not version.strip() or _SEMVER.match(version):
        return
    parts = version.split(".")
    hint = "use MAJOR.MINOR.PATCH, e.g. '1.0.0'"
    if all(part.isdigit() for part in parts) and len(parts) < 3:
        hint = (
            f"write '{'.'.join(parts + ['0'] * (3 - len(parts)))}' (quote it so YAML keeps it text)"
        )
    yield Issue(
        "INVALID_VERSION",
        f"version '{version}' is not a semantic version (MAJOR.MINOR.PATCH)",
        ("version",),
        hint,
    )


@rule("INVALID_TIMESTAMP")
def metadata_timestamps(context: RuleContext) -> Iterator[Issue]:
    metadata = context.data.get("metadata")
    if not isinstance(metadata, dict):
        return
    for key in ("created_at", "updated_at"):
        value = metadata.get(key)
        if value is None or not isinstance(value, str):
            continue
        if not _valid_timestamp(value):
            hint = "use RFC 3339, e.g. '2026-01-07T00:00:00Z'"
            if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                hint = f"add a time and zone: '{value}T00:00:00Z'"
            yield Issue(
                "INVALID_TIMESTAMP",
                f"metadata.{key} '{value}' is not an RFC 3339 timestamp; Tasker Core fails "
                "to load the template",
                ("metadata", key),
                hint,
            )


def _valid_timestamp(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def _retry_blocks(context: RuleContext) -> Iterator[tuple[JsonPath, dict[str, Any], str | None]]:
    for step in context.steps:
        retry = step.mapping("retry")
        if retry is not None:
            yield (*step.path, "retry"), retry, step.name
    environments = context.data.get("environments")
    if isinstance(environments, dict):
        for environment, overrides in environments.items():
            entries = overrides.get("steps") if isinstance(overrides, dict) else None
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                retry = entry.get("retry") if isinstance(entry, dict) else None
                if isinstance(retry, dict):
                    yield ("environments", environment, "steps", index, "retry"), retry, None


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@rule("MAX_ATTEMPTS_ZERO")
def zero_attempts(context: RuleContext) -> Iterator[Issue]:
    for path, retry, step in _retry_blocks(context):
        if retry.get("max_attempts") == 0 and _is_int(retry.get("max_attempts")):
            yield Issue(
                "MAX_ATTEMPTS_ZERO",
                "retry.max_attempts is 0: the step still runs once (the first attempt is "
                "always eligible, in Tasker Core too) and a failure is never retried",
                (*path, "max_attempts"),
                "write max_attempts: 1, which means the same and says so",
                step=step,
            )


@rule("BACKOFF_INVERTED")
def backoff_order(context: RuleContext) -> Iterator[Issue]:
    for path, retry, step in _retry_blocks(context):
        base, ceiling = retry.get("backoff_base_ms"), retry.get("max_backoff_ms")
        if _is_int(base) and _is_int(ceiling) and base > ceiling:
            yield Issue(
                "BACKOFF_INVERTED",
                f"backoff_base_ms ({base}) is larger than max_backoff_ms ({ceiling})",
                (*path, "backoff_base_ms"),
                "the first delay cannot exceed the cap; swap or correct the values",
                step=step,
            )


@rule("OUTSIDE_RECOMMENDED_RANGE")
def recommended_ranges(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        for keys, (low, high) in _STEP_RANGES.items():
            value: Any = step.data
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            if _is_int(value) and value > 0 and not low <= value <= high:
                dotted = ".".join(keys)
                yield Issue(
                    "OUTSIDE_RECOMMENDED_RANGE",
                    f"{dotted} is {value}; Tasker Core documents {low}-{high}",
                    (*step.path, *keys),
                    step=step.name,
                )
    lifecycle = context.data.get("lifecycle")
    if isinstance(lifecycle, dict):
        for key, (low, high) in _LIFECYCLE_RANGES.items():
            value = lifecycle.get(key)
            if _is_int(value) and not low <= value <= high:
                yield Issue(
                    "OUTSIDE_RECOMMENDED_RANGE",
                    f"lifecycle.{key} is {value}; Tasker Core documents {low}-{high}",
                    ("lifecycle", key),
                )
