"""The documents of ``tasker-ctl fragment validate|explain``: a planner's fragment checked
against a template's planning step, with no database and no model.

The fragment is a document: a file read with positions (``read_fragment``), standard input, or
an object a client sent (``fragment_data``, without positions); all reach the same nine stages.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasker_ctl.errors import (
    ContextJsonError,
    FragmentFileError,
    PathNotFoundError,
    UsageError,
)
from tasker_ctl.planning.findings import FragmentFinding
from tasker_ctl.report.fragment_view import FragmentCheckOutput

if TYPE_CHECKING:
    from tasker_ctl.planning.explain import FragmentExplanation
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.template.source import SourceDocument

__all__ = [
    "IN_MEMORY_FRAGMENT",
    "FragmentCheckOutput",
    "fragment_data",
    "fragment_explanation",
    "fragment_validation",
    "read_fragment",
]

# how a fragment given as data is named in findings (it has no file)
IN_MEMORY_FRAGMENT = "<fragment>"


def read_fragment(path: Path, shown: str | None = None) -> SourceDocument:
    """The fragment file as data with positions; ``FRAGMENT_FILE_INVALID`` when it is not one
    YAML or JSON document."""
    from tasker_ctl.template.source import read_document

    name = shown or str(path)
    if not path.exists():
        raise PathNotFoundError(f"fragment '{name}' does not exist", hint="check the path")
    if not path.is_file():
        raise UsageError(f"fragment '{name}' is not a file", hint="name a YAML or JSON file")
    return usable_fragment(read_document(path, name))


def usable_fragment(document: SourceDocument) -> SourceDocument:
    """``document`` when it was parsed; ``FRAGMENT_FILE_INVALID`` at its first problem."""
    if document.problems:
        problem = document.problems[0]
        where = f":{problem.position[0]}:{problem.position[1]}" if problem.position else ""
        raise FragmentFileError(
            f"{document.display_path}{where}: {problem.message}",
            hint="a fragment is one YAML or JSON document (docs/fragments.md)",
        )
    return document


def fragment_data(fragment: Mapping[str, Any], shown: str = IN_MEMORY_FRAGMENT) -> SourceDocument:
    """A fragment sent as an object: a document without positions, held to a file's limits."""
    from tasker_ctl.documents.grammar import plain_json
    from tasker_ctl.template.source import SourceDocument

    data = plain_json(dict(fragment), "the fragment", FragmentFileError)
    return SourceDocument(path=Path(shown), display_path=shown, data=data)


def fragment_frame(
    template: Path,
    step: str,
    *,
    context: Any = None,
    results: Any = None,
    remaining_steps: int | None = None,
) -> FragmentFrame:
    """What the fragment is checked against: the template (refused with its errors) around
    its planning step ``step``, and what is known of the task."""
    from tasker_ctl.documents.grammar import plain_json
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.template.validator import load_checked

    if not template.exists():
        raise PathNotFoundError(f"template '{template}' does not exist", hint="check the path")
    if not template.is_file():
        raise UsageError(f"template '{template}' is not a file", hint="name a template file")
    loaded = load_checked(template)
    if results is not None and not isinstance(results, Mapping):
        raise ContextJsonError(
            "the results must be an object keyed by step name",
            hint='e.g. --results \'{"collect_signals": {"signals": []}}\'',
        )
    if remaining_steps is not None and remaining_steps < 0:
        raise UsageError("the remaining steps cannot be negative", hint="give 0 or more")
    return FragmentFrame(
        loaded.template,
        step,
        context=None if context is None else plain_json(context, "the context", ContextJsonError),
        results=None if results is None else plain_json(results, "the results", ContextJsonError),
        remaining_steps=remaining_steps,
    )


def fragment_validation(document: SourceDocument, frame: FragmentFrame) -> FragmentCheckOutput:
    """``fragment validate --json``: the nine stages, every finding placed in the file."""
    from tasker_ctl.planning.validator import check_fragment

    source = document.display_path
    check = check_fragment(document.data, frame, source=source)
    return FragmentCheckOutput(
        fragment=source,
        template=frame.template.identifier,
        planning_step=frame.planning_step,
        accepted=check.accepted,
        step_count=check.step_count,
        depth=check.depth,
        findings=_placed(check.findings, document),
    )


def fragment_explanation(document: SourceDocument, frame: FragmentFrame) -> FragmentExplanation:
    """``fragment explain --json``: each step's inputs and where they come from, the edges
    the materialization adds, and the findings placed in the file."""
    from tasker_ctl.planning.explain import explain_fragment

    explanation = explain_fragment(document.data, frame, source=document.display_path)
    placed = _placed(explanation.findings, document)
    return explanation.model_copy(update={"findings": placed})


def _placed(findings: list[FragmentFinding], document: SourceDocument) -> list[FragmentFinding]:
    """The findings with the line and column of their path in the fragment file."""
    placed = []
    for finding in findings:
        position = document.positions.locate(tuple(finding.keys))
        if position is None:
            placed.append(finding)
        else:
            placed.append(finding.model_copy(update={"line": position[0], "column": position[1]}))
    return placed
