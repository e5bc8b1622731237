"""How much of a template file the reader takes in, and how long names may be.

Every template is untrusted input, so the reader stops at the first limit it passes and reports
it as a finding, before memory or time grows. The defaults are far above real templates (Tasker
Core's own: at most 9 KB, 550 nodes, 12 levels) and far below what hurts: a file at every limit
still validates in well under a second.

Documented in docs/template-format.md ("Limits"); ``bounded_json`` has the JSON reader's own.
"""

from __future__ import annotations

MAX_TEMPLATE_BYTES = 4 * 1024 * 1024
"""The largest file read; a longer one is refused unread (INPUT_TOO_LARGE)."""

MAX_DEPTH = 64
"""Collections nested in each other, counting those an alias brings in (INPUT_TOO_DEEP)."""

MAX_NODES = 100_000
"""Mappings, sequences and scalars as written, keys included (INPUT_TOO_LARGE)."""

MAX_EXPANDED_NODES = 100_000
"""Nodes once every alias is replaced by what it names: a document of a few hundred bytes
can otherwise name billions (ALIAS_EXPANSION_LIMIT)."""

MAX_NUMBER_DIGITS = 100
"""Digits in one integer or float literal (NUMBER_TOO_LARGE); u64 needs 20."""

# The lengths of the database columns the template's names are stored in (migrations
# 0001_initial.sql): longer names pass validation nowhere, as the columns would refuse them.
MAX_TEMPLATE_NAME = 128  # named_tasks.name
MAX_NAMESPACE_NAME = 64  # task_namespaces.name, tasks.namespace_name
MAX_VERSION = 64  # named_tasks.version
MAX_STEP_NAME = 255  # named_steps.name, workflow_steps.name and template_step_name
MAX_ENVIRONMENT_NAME = 64  # tasks.environment
