"""Errors of the telemetry configuration (the ``OTEL_*`` variables)."""

from __future__ import annotations

from tasker_ctl.errors import UsageError


class TelemetryConfigError(UsageError):
    """An ``OTEL_*`` variable holds a value tasker-ctl cannot act on (an exporter it does not
    provide, a malformed resource attribute list, an unknown OTLP protocol)."""

    code = "TELEMETRY_CONFIG_INVALID"


class TelemetryExporterMissingError(UsageError):
    """The variables ask for an exporter whose package is not installed (OTLP)."""

    code = "TELEMETRY_EXPORTER_MISSING"
