"""What the renderer tests share: templates (one clean, one with an error, one with a warning)
and a report built from them."""

from __future__ import annotations

from tasker_ctl.template import ValidationReport, validate_text

CLEAN = """\
name: demo
namespace_name: shop
version: 1.0.0
steps:
  - name: fetch
    handler:
      callable: shop.Fetch
    result_schema:
      type: object
"""

# line 8 holds the bad dependency; the step has no result_schema (an info finding)
BROKEN_DEPENDENCY = """\
name: demo
namespace_name: shop
version: 1.0.0
steps:
  - name: fetch
    handler:
      callable: shop.Fetch
    dependencies: [fecth]
"""

# line 9 holds the legacy key: one warning, nothing else
LEGACY = """\
name: legacy
namespace_name: shop
version: 2.0.0
steps:
  - name: fetch
    handler:
      callable: shop.Fetch
    retry:
      limit: 3
    result_schema:
      type: object
"""


def make_report(
    *documents: tuple[str, str], skipped: list[str] | None = None, environment: str | None = None
) -> ValidationReport:
    """A report of (file name, template text) documents, validated in memory."""
    return ValidationReport(
        files=[validate_text(text, name=name) for name, text in documents],
        skipped=skipped or [],
        environment=environment,
    )
