"""Allow ``python -m tasker_ctl``."""

from __future__ import annotations

from tasker_ctl.cli import main

main()
