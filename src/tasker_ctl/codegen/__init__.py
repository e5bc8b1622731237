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

__all__ = [
    "CodegenError",
    "GeneratedFile",
    "Generation",
    "TemplateInvalidError",
    "diff_files",
    "generate_handlers",
    "generate_models",
    "generate_scaffold",
    "generate_tests",
    "template_digest",
    "write_files",
]
