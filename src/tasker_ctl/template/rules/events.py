"""Event declaration rules (Tasker Core defines them but never runs them)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.rules import rule

_EVENT_CHARS = re.compile(r"^[a-z0-9_.]+$")
_PUBLISHER = re.compile(r"^[a-zA-Z_]\w*((::|\.)[a-zA-Z_]\w*)*$")


def event_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid ``namespace.action`` event name, or ``None``."""
    if "." not in name:
        return "must contain at least one dot (namespace.action)"
    if name.startswith(".") or name.endswith("."):
        return "must not start or end with a dot"
    if ".." in name:
        return "must not contain consecutive dots"
    if not _EVENT_CHARS.match(name):
        return "may contain only lowercase letters, digits, underscores and dots"
    return None


def _suggest(name: str) -> str:
    cleaned = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    cleaned = re.sub(r"[^a-z0-9_.]+", "_", cleaned).strip("._")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    return cleaned if "." in cleaned else f"{cleaned or 'domain'}.happened"


@rule("EVENT_NAME_INVALID", "EVENT_PUBLISHER_INVALID", "DUPLICATE_EVENT_NAME")
def event_declarations(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        declared = step.data.get("publishes_events")
        if not isinstance(declared, list):
            continue
        seen: dict[str, int] = {}
        for index, event in enumerate(declared):
            if not isinstance(event, dict):
                continue
            path = (*step.path, "publishes_events", index)
            name = event.get("name")
            if isinstance(name, str):
                problem = event_name_problem(name)
                if problem:
                    yield Issue(
                        "EVENT_NAME_INVALID",
                        f"Event name '{name}' {problem}",
                        (*path, "name"),
                        f"e.g. '{_suggest(name)}'",
                        step=step.name,
                    )
                if name in seen:
                    yield Issue(
                        "DUPLICATE_EVENT_NAME",
                        f"Step '{step.label}' declares event '{name}' twice (also entry "
                        f"{seen[name]}); each entry is published when its condition holds",
                        (*path, "name"),
                        step=step.name,
                    )
                seen.setdefault(name, index)
            publisher = event.get("publisher")
            if isinstance(publisher, str) and not _PUBLISHER.match(publisher):
                yield Issue(
                    "EVENT_PUBLISHER_INVALID",
                    f"Event publisher '{publisher}' is not a valid identifier",
                    (*path, "publisher"),
                    "use a name like 'PaymentEventPublisher' or 'payments.EventPublisher'",
                    step=step.name,
                )
