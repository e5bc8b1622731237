"""Commands a test interrupts with SIGINT, started as from a terminal, whatever this test run
inherited.

A shell starts a background job with SIGINT ignored, and ignored signals stay ignored across
``exec``: a Python started that way never turns SIGINT into ``KeyboardInterrupt``, so a test
of Ctrl-C would see nothing happen. ``interruptible`` prefixes a command with a small Python
that gives SIGINT its default disposition and then becomes the command (``exec``: same pid,
same pipes), which is safe in a threaded test process where ``preexec_fn`` is not.
"""

from __future__ import annotations

import sys

_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def interruptible(command: list[str]) -> list[str]:
    """``command``, run with SIGINT at its default disposition."""
    return [sys.executable, "-c", _DEFAULT_SIGINT, *command]
