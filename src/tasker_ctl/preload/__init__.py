"""The preloader: a process that keeps tasker-ctl's modules loaded, so that a command starts warm.

A command spends most of a short run importing: Python, Typer, Pydantic, psycopg and
tasker-ctl's own modules, about 0.3-0.5 s, before it does anything. The preloader pays that
once. It is a process of the user's own, one per Python environment, listening on a Unix
socket in a folder only the user can enter; the console script (``tasker_ctl.cli.main``)
hands a command line that names one of ``PRELOADED_COMMANDS`` to it, with its standard
streams, working folder, environment and umask, and the preloader forks a child that runs the
command exactly as the console script would, already warm. The console script forwards the
signals it gets to that child (Ctrl-C stops a run as before) and exits with its exit code.

Without a preloader the command runs in its own process, as it always did, and starts one in
the background for the next command. A preloader stops by itself after ``TASKER_PRELOAD_IDLE``
seconds without a command (600 by default), and declines (so that the command runs in its own
process and a new preloader is started) when any module it loaded changed on disk.
``TASKER_PRELOAD=off`` turns it off. Only Linux has it (the socket's peer credentials prove
that the caller is the same user); elsewhere every command runs in its own process.

Modules: ``place`` (where a preloader listens, and whether it may), ``client`` (the console
script's side), ``server`` (the preloader), ``child`` (a command run in a forked child),
``wire`` (the request and the replies). Every one of them imports nothing of tasker-ctl but
this package until a child runs its command, so that handing a command over stays cheap.
"""

from __future__ import annotations

PRELOADED_COMMANDS = frozenset({"run", "validate", "inspect", "task", "report", "stats", "dlq"})
"""The top-level commands handed to a preloader: the ones a user or an agent repeats."""

__all__ = ["PRELOADED_COMMANDS"]
