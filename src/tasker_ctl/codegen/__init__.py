"""Code from contracts: Pydantic models, handler stubs and tests generated from templates.

Depends on ``tasker_ctl.template``; datamodel-code-generator and Jinja2 are imported only when
code is generated.
"""

from __future__ import annotations

from tasker_ctl.codegen.errors import CodegenError, TemplateInvalidError
from tasker_ctl.codegen.generate import (
    GeneratedFile,
    Generation,
    diff_files,
    generate_handlers,
    generate_models,
    generate_scaffold,
    generate_tests,
    template_digest,
    write_files,
)
from tasker_ctl.codegen.handlers_file import StepHandlerName
from tasker_ctl.codegen.scaffold import ScaffoldCheck, ScaffoldWrite, check_scaffold, write_scaffold

__all__ = [
    "CodegenError",
    "GeneratedFile",
    "Generation",
    "ScaffoldCheck",
    "ScaffoldWrite",
    "StepHandlerName",
    "TemplateInvalidError",
    "check_scaffold",
    "diff_files",
    "generate_handlers",
    "generate_models",
    "generate_scaffold",
    "generate_tests",
    "template_digest",
    "write_files",
    "write_scaffold",
]
