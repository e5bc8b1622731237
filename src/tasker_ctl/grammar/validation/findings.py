"""What composition validation reports: coded findings located inside the composition."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field

from tasker_ctl.template.codes import severity_of
from tasker_ctl.template.diagnostics import Severity

FindingPath = tuple[str | int, ...]


class CompositionFinding(BaseModel):
    """One problem of a composition. ``path`` is relative to the composition's root, e.g.
    ``("invocations", 2, "config", "filter")``; the severity is fixed by the code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    message: str
    hint: str | None = None
    invocation_index: int | None = None
    path: FindingPath = ()
    # an unknown key is shown at the key rather than at its value
    at_key: bool = Field(default=False, exclude=True, repr=False)


def finding(
    code: str,
    message: str,
    *,
    hint: str | None = None,
    index: int | None = None,
    path: FindingPath = (),
    at_key: bool = False,
) -> CompositionFinding:
    """A finding whose severity comes from the code catalogue."""
    return CompositionFinding(
        code=code,
        severity=severity_of(code),
        message=message,
        hint=hint,
        invocation_index=index,
        path=path,
        at_key=at_key,
    )


class CompositionReport(BaseModel):
    """Every finding of one composition, in the order the checks ran."""

    model_config = ConfigDict(extra="forbid")

    findings: list[CompositionFinding] = Field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for item in self.findings if item.severity is severity)

    @property
    def codes(self) -> list[str]:
        return [item.code for item in self.findings]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_valid(self) -> bool:
        return self.count(Severity.ERROR) == 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        errors, warnings = self.count(Severity.ERROR), self.count(Severity.WARNING)
        if errors:
            return f"Composition has {errors} error(s) and {warnings} warning(s)"
        if warnings:
            return f"Composition is valid with {warnings} warning(s)"
        return "Composition is valid"
