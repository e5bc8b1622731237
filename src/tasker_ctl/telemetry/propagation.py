"""Carrying the current trace into another process (a handler process), as W3C headers.

Imports OpenTelemetry only when it is already loaded (telemetry is on, or a handler uses it):
with telemetry off both functions cost a dictionary lookup.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


def current_trace() -> dict[str, str]:
    """The current span's trace context as ``traceparent``/``tracestate`` headers (empty
    when there is no span or OpenTelemetry is not loaded)."""
    if "opentelemetry.trace" not in sys.modules:
        return {}
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


@contextmanager
def attached_trace(carrier: Mapping[str, str]) -> Iterator[None]:
    """Make the trace ``carrier`` describes the current one for the block (spans started in
    it are children of the span that sent it)."""
    if not carrier:
        yield
        return
    try:
        from opentelemetry import context
        from opentelemetry.propagate import extract
    except ImportError:  # the API is not installed here: nothing to join
        yield
        return
    token = context.attach(extract(dict(carrier)))
    try:
        yield
    finally:
        context.detach(token)
