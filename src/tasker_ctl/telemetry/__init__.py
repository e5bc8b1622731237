"""Optional OpenTelemetry traces and metrics (docs/telemetry.md).

Off unless the standard ``OTEL_*`` variables ask for an exporter and the OpenTelemetry SDK is
installed (``pip install 'tasker-ctl[otel]'``). While it is off nothing here imports
OpenTelemetry, and workers pay one ``None`` check per attempt.

``current_telemetry()`` is the process's telemetry, configured from the environment on first
use; ``install_telemetry`` replaces it, for instance with providers the caller built
(``configure(tracer_provider=..., meter_provider=...)``, as tests do with the SDK's in-memory
exporter and reader). This package is a bottom layer: it knows nothing of the engine, which
hands it the plain records of ``tasker_ctl.telemetry.api``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tasker_ctl.telemetry.api import (
    AttemptInfo,
    AttemptResult,
    AttemptSpan,
    FinishedTask,
    PlannerCallInfo,
    PlannerCallResult,
    PlannerCallSpan,
    Telemetry,
    start_planner_call,
)
from tasker_ctl.telemetry.errors import TelemetryConfigError, TelemetryExporterMissingError
from tasker_ctl.telemetry.settings import TelemetrySettings, read_settings

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = [
    "AttemptInfo",
    "AttemptResult",
    "AttemptSpan",
    "FinishedTask",
    "PlannerCallInfo",
    "PlannerCallResult",
    "PlannerCallSpan",
    "Telemetry",
    "TelemetryConfigError",
    "TelemetryExporterMissingError",
    "TelemetrySettings",
    "configure",
    "current_telemetry",
    "from_environment",
    "install_telemetry",
    "read_settings",
    "reset_telemetry",
    "sdk_available",
    "start_planner_call",
]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_configured = False
_current: Telemetry | None = None


def current_telemetry() -> Telemetry | None:
    """The process's telemetry (None: off). The first call reads the environment; a bad
    configuration raises a coded error then, and again on the next call."""
    global _configured, _current
    if _configured:
        return _current
    with _lock:
        if not _configured:
            _current = from_environment(os.environ)
            _configured = True
        return _current


def install_telemetry(telemetry: Telemetry | None) -> None:
    """Use ``telemetry`` from now on (None: off), whatever the environment says."""
    global _configured, _current
    with _lock:
        _current, _configured = telemetry, True


def reset_telemetry() -> None:
    """Forget the installed telemetry: the next ``current_telemetry()`` reads the environment."""
    global _configured, _current
    with _lock:
        _current, _configured = None, False


def sdk_available() -> bool:
    """Whether the OpenTelemetry SDK can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("opentelemetry.sdk") is not None
    except ImportError:  # not even the opentelemetry namespace is installed
        return False


def from_environment(environ: Mapping[str, str]) -> Telemetry | None:
    """Telemetry as the ``OTEL_*`` variables in ``environ`` ask; None when they ask for
    nothing, or when the SDK is not installed (a warning says so)."""
    settings = read_settings(environ)
    if not settings.enabled:
        return None
    if not sdk_available():
        logger.warning(
            "OTEL_* variables ask for telemetry but the OpenTelemetry SDK is not installed; "
            "install it with: pip install 'tasker-ctl[otel]'"
        )
        return None
    from tasker_ctl.telemetry.otel import from_settings

    return from_settings(settings)


def configure(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Telemetry:
    """Telemetry on providers the caller built and owns (exporters, sampling, shutdown)."""
    from tasker_ctl.telemetry.otel import OtelTelemetry

    return OtelTelemetry(tracer_provider, meter_provider)
