"""Two versions of a template compared schema by schema (``tasker-ctl schema diff``).

Each change is classified for who it breaks. The input_schema is what callers send: a field
removed, made required (or added required) or a type narrowed refuses what they sent before;
an optional field added or a type widened does not. A result_schema binds both sides: the
step's handler must still produce it (a type narrowed, a field made required, refuse what it
produced before) and the steps downstream read it (a field removed or made optional, a type
widened, give them what they did not expect). Steps added or removed are listed too; a step
removed breaks whoever read its result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from tasker_ctl.documents.schemas import SchemaField, flatten_fields
from tasker_ctl.documents.templates import read_template
from tasker_ctl.report.json_output import StrictOutput

__all__ = ["SchemaChange", "SchemaDiff", "schema_diff_document"]

ChangeKind = Literal[
    "step_added",
    "step_removed",
    "schema_added",
    "schema_removed",
    "field_added",
    "field_removed",
    "made_required",
    "made_optional",
    "type_narrowed",
    "type_widened",
    "type_changed",
]
Scope = Literal["input_schema", "result_schema", "step"]


class SchemaChange(StrictOutput):
    scope: Scope = Field(description="which schema changed ('step': the step itself)")
    step: str | None = Field(description="the step, for result_schema and step changes")
    kind: ChangeKind
    path: str = Field(description="JSON pointer of the field; '' for the whole schema")
    old: str | None = Field(description="the old type or requiredness, when it applies")
    new: str | None = Field(description="the new type or requiredness, when it applies")
    breaking: bool
    reason: str


class DiffSummary(StrictOutput):
    breaking: int
    non_breaking: int


class SchemaDiff(StrictOutput):
    """The document of ``tasker-ctl schema diff --json`` and of ``schema_diff``."""

    old: str = Field(description="the old template, 'namespace/name@version'")
    new: str = Field(description="the new template, 'namespace/name@version'")
    changes: list[SchemaChange]
    summary: DiffSummary
    breaking: bool = Field(description="true when any change is breaking")


def schema_diff_document(
    old_path: Path,
    new_path: Path,
    *,
    old_shown: str | None = None,
    new_shown: str | None = None,
) -> SchemaDiff:
    """Every schema change from the template at ``old_path`` to the one at ``new_path``."""
    old = read_template(old_path, old_shown or str(old_path)).template
    new = read_template(new_path, new_shown or str(new_path)).template
    changes = _schema_changes("input_schema", None, old.input_schema, new.input_schema)
    new_names = {step.name for step in new.steps}
    old_names = {step.name for step in old.steps}
    for step in old.steps:
        if step.name not in new_names:
            changes.append(
                _change(
                    "step",
                    step.name,
                    "step_removed",
                    "",
                    None,
                    None,
                    True,
                    "steps downstream lose its result",
                )
            )
            continue
        after = new.step(step.name)
        assert after is not None
        changes += _schema_changes(
            "result_schema", step.name, step.result_schema, after.result_schema
        )
    for step in new.steps:
        if step.name not in old_names:
            changes.append(
                _change("step", step.name, "step_added", "", None, None, False, "a new step")
            )
    breaking = sum(1 for change in changes if change.breaking)
    return SchemaDiff(
        old=old.identifier,
        new=new.identifier,
        changes=changes,
        summary=DiffSummary(breaking=breaking, non_breaking=len(changes) - breaking),
        breaking=breaking > 0,
    )


def _change(
    scope: Scope,
    step: str | None,
    kind: ChangeKind,
    path: str,
    old: str | None,
    new: str | None,
    breaking: bool,
    reason: str,
) -> SchemaChange:
    return SchemaChange(
        scope=scope,
        step=step,
        kind=kind,
        path=path,
        old=old,
        new=new,
        breaking=breaking,
        reason=reason,
    )


def _types(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    kinds = set(text.split("|"))
    if "number" in kinds:
        kinds.add("integer")  # a number admits every integer
    return frozenset(kinds)


def _schema_changes(scope: Scope, step: str | None, old: Any, new: Any) -> list[SchemaChange]:
    is_input = scope == "input_schema"
    if old is None and new is None:
        return []
    if old is None:
        required = [field.path for field in flatten_fields(new)[0] if field.required]
        breaking = is_input and bool([path for path in required if path.count("/") == 1])
        return [
            _change(
                scope,
                step,
                "schema_added",
                "",
                None,
                None,
                breaking,
                "callers must now send its required fields"
                if breaking
                else "a schema where there was none",
            )
        ]
    if new is None:
        return [
            _change(
                scope,
                step,
                "schema_removed",
                "",
                None,
                None,
                not is_input,
                "steps downstream no longer know what they read"
                if not is_input
                else "anything is accepted now",
            )
        ]
    before = {field.path: field for field in flatten_fields(old)[0]}
    after = {field.path: field for field in flatten_fields(new)[0]}
    changes: list[SchemaChange] = []
    for path, field in before.items():
        if _under_removed(path, before, after):
            continue  # its parent's removal says it
        if path not in after:
            changes.append(
                _change(
                    scope,
                    step,
                    "field_removed",
                    path,
                    field.type,
                    None,
                    True,
                    "callers' values holding it may be refused"
                    if is_input
                    else "steps downstream reading it get nothing",
                )
            )
            continue
        changes += _field_changes(scope, step, field, after[path])
    for path, field in after.items():
        if path in before or _under_added(path, before, after):
            continue
        breaking = field.required and _parent_present(path, before)
        changes.append(
            _change(
                scope,
                step,
                "field_added",
                path,
                None,
                field.type,
                breaking,
                ("callers must now send it" if is_input else "the handler must now produce it")
                if breaking
                else "an optional field",
            )
        )
    return changes


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0]


def _under_removed(
    path: str, before: dict[str, SchemaField], after: dict[str, SchemaField]
) -> bool:
    parent = _parent(path).removesuffix("/*")
    return bool(parent) and parent in before and parent not in after


def _under_added(path: str, before: dict[str, SchemaField], after: dict[str, SchemaField]) -> bool:
    parent = _parent(path).removesuffix("/*")
    return bool(parent) and parent in after and parent not in before


def _parent_present(path: str, before: dict[str, SchemaField]) -> bool:
    parent = _parent(path).removesuffix("/*")
    return not parent or parent in before


def _field_changes(
    scope: Scope, step: str | None, old: SchemaField, new: SchemaField
) -> list[SchemaChange]:
    is_input = scope == "input_schema"
    changes: list[SchemaChange] = []
    if not old.required and new.required:
        changes.append(
            _change(
                scope,
                step,
                "made_required",
                new.path,
                "optional",
                "required",
                True,
                "callers must now send it" if is_input else "the handler must now produce it",
            )
        )
    elif old.required and not new.required:
        changes.append(
            _change(
                scope,
                step,
                "made_optional",
                new.path,
                "required",
                "optional",
                not is_input,
                "steps downstream can no longer count on it"
                if not is_input
                else "callers may leave it out",
            )
        )
    for old_type, new_type, where in (
        (old.type, new.type, new.path),
        (old.items, new.items, f"{new.path}/*"),
    ):
        before, after = _types(old_type), _types(new_type)
        if before == after:
            continue
        # an unsaid type admits anything
        if after is None or (before is not None and before < after):
            kind: ChangeKind = "type_widened"
            breaking = not is_input
            reason = (
                "steps downstream may get a type they do not expect"
                if not is_input
                else "callers' values still fit"
            )
        elif before is None or after < before:
            kind = "type_narrowed"
            breaking = True
            reason = (
                "callers' values of the dropped type are refused"
                if is_input
                else "what the handler produced before may be refused"
            )
        else:
            kind, breaking, reason = "type_changed", True, "the type is another one"
        changes.append(_change(scope, step, kind, where, old_type, new_type, breaking, reason))
    return changes
