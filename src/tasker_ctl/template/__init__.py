"""TaskTemplates: models, YAML loading with source positions, rules and diagnostics.

This package depends on nothing else in tasker_ctl except ``tasker_ctl.errors``. Its face is
lazy (``tasker_ctl.lazy_exports``): importing the model, as running a template validated
before does, loads neither the reader nor the validator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasker_ctl.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from tasker_ctl.template.diagnostics import FileReport, Finding, Severity, ValidationReport
    from tasker_ctl.template.model import StepDefinition, StepType, TaskTemplate
    from tasker_ctl.template.validator import (
        load_template,
        validate_file,
        validate_paths,
        validate_text,
    )

_EXPORTS = {
    "FileReport": "diagnostics",
    "Finding": "diagnostics",
    "Severity": "diagnostics",
    "ValidationReport": "diagnostics",
    "StepDefinition": "model",
    "StepType": "model",
    "TaskTemplate": "model",
    "load_template": "validator",
    "validate_file": "validator",
    "validate_paths": "validator",
    "validate_text": "validator",
}

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
