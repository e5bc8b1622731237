"""TaskTemplates: models, YAML loading with source positions, rules and diagnostics.

This package depends on nothing else in tasker_ctl except ``tasker_ctl.errors``.
"""

from __future__ import annotations

from tasker_ctl.template.diagnostics import FileReport, Finding, Severity, ValidationReport
from tasker_ctl.template.model import StepDefinition, StepType, TaskTemplate
from tasker_ctl.template.validator import (
    load_template,
    validate_file,
    validate_paths,
    validate_text,
)

__all__ = [
    "FileReport",
    "Finding",
    "Severity",
    "StepDefinition",
    "StepType",
    "TaskTemplate",
    "ValidationReport",
    "load_template",
    "validate_file",
    "validate_paths",
    "validate_text",
]
