"""Standard output kept for one report: what else is written there goes to standard error.

``tasker-ctl run --json`` prints a JSON report on standard output while handlers run in the
same process. A handler's ``print``, a C extension's ``write(1, ...)`` and a subprocess it
starts all write to file descriptor 1; left there, they would corrupt the report. While the
block runs, descriptor 1 is descriptor 2 (standard error); the report is written to the
original standard output, kept aside, which is then restored.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import TextIO

STDOUT_FD = 1
STDERR_FD = 2


@contextlib.contextmanager
def stdout_for_report(enabled: bool = True) -> Iterator[TextIO]:
    """Within the block, standard output goes to standard error; the stream it yields writes
    to the real standard output (the report's). Disabled, it yields ``sys.stdout``."""
    if not enabled:
        yield sys.stdout
        return
    if not _is_process_stdout(sys.stdout):
        # sys.stdout is not the process's descriptor 1 (an embedding application, a test's
        # capture): only what is written through sys.stdout can be moved aside
        report = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            yield report
        return
    sys.stdout.flush()
    saved = os.dup(STDOUT_FD)
    try:
        os.dup2(STDERR_FD, STDOUT_FD)
        report = open(  # noqa: SIM115 - closed below, after the block
            os.dup(saved), "w", encoding="utf-8", closefd=True
        )
        try:
            yield report
        finally:
            report.close()
            sys.stdout.flush()  # what was printed goes to standard error, before the restore
    finally:
        os.dup2(saved, STDOUT_FD)
        os.close(saved)


def _is_process_stdout(stream: TextIO) -> bool:
    try:
        return stream.fileno() == STDOUT_FD
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
