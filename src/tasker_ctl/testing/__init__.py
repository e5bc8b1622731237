"""Templates run end to end inside pytest, on a throwaway PostgreSQL.

The pytest plugin ``tasker_ctl.testing.plugin`` (registered under the name ``tasker_ctl``
when tasker-ctl is installed) serves the ``tasker_*`` fixtures; this package names what they
hand a test: ``TemplateRun`` (the task's state, its steps' states, results and errors) and
``TemplateRunner`` (the type of ``tasker_run_template``). See docs/testing.md.

Import-light: nothing here imports the engine, psycopg or the embedded server, so that a
pytest session that uses none of the fixtures pays nothing for the plugin.
"""

from __future__ import annotations

from tasker_ctl.testing.runs import TemplateRun, TemplateRunner, assert_task_complete

__all__ = ["TemplateRun", "TemplateRunner", "assert_task_complete"]
