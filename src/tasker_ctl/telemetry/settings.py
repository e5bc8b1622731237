"""What the standard ``OTEL_*`` variables ask of tasker-ctl, read without importing OpenTelemetry.

Telemetry is on when an exporter is asked for: ``OTEL_TRACES_EXPORTER`` or
``OTEL_METRICS_EXPORTER`` names one (``console`` or ``otlp``; ``none`` is none), or an OTLP
endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT``, or the signal's own
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``..._METRICS_ENDPOINT``), which makes ``otlp`` the
default exporter of the signals not named. ``OTEL_SDK_DISABLED=true`` turns everything off.
Unlike the SDK's own auto-configuration, an unset exporter variable without an endpoint means
no exporter rather than OTLP to localhost: a CLI should not try to reach a collector nobody
configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from tasker_ctl.telemetry.errors import TelemetryConfigError

DEFAULT_SERVICE_NAME = "tasker-ctl"
EXPORTERS = ("console", "otlp")
OTLP_PROTOCOLS = ("http/protobuf", "grpc")
_SIGNALS = {"traces": "TRACES", "metrics": "METRICS"}


@dataclass(frozen=True)
class TelemetrySettings:
    """The exporters per signal (empty: that signal is not exported) and the resource."""

    traces: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    service_name: str = DEFAULT_SERVICE_NAME
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    traces_protocol: str = "http/protobuf"
    metrics_protocol: str = "http/protobuf"

    @property
    def enabled(self) -> bool:
        return bool(self.traces or self.metrics)


def read_settings(environ: Mapping[str, str]) -> TelemetrySettings:
    """The settings the variables in ``environ`` describe; ``enabled`` is False when they ask
    for nothing. Raises ``TelemetryConfigError`` for values that cannot be honoured."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return TelemetrySettings()
    exporters = {signal: _exporters(environ, signal) for signal in _SIGNALS}
    if not any(exporters.values()):
        return TelemetrySettings()
    attributes = parse_resource_attributes(environ.get("OTEL_RESOURCE_ATTRIBUTES", ""))
    service = (
        environ.get("OTEL_SERVICE_NAME", "").strip()
        or attributes.get("service.name")
        or DEFAULT_SERVICE_NAME
    )
    return TelemetrySettings(
        traces=exporters["traces"],
        metrics=exporters["metrics"],
        service_name=service,
        resource_attributes=attributes,
        # read only for a signal exported over OTLP: a stray variable must not stop the rest
        traces_protocol=_protocol(environ, "traces", exporters["traces"]),
        metrics_protocol=_protocol(environ, "metrics", exporters["metrics"]),
    )


def parse_resource_attributes(text: str) -> dict[str, str]:
    """``OTEL_RESOURCE_ATTRIBUTES``: ``key=value`` pairs separated by commas, values
    percent-encoded (W3C Baggage syntax, without properties)."""
    attributes: dict[str, str] = {}
    for member in text.split(","):
        if not member.strip():
            continue
        key, equals, value = member.partition("=")
        if not equals or not key.strip():
            raise TelemetryConfigError(
                f"OTEL_RESOURCE_ATTRIBUTES has a malformed member {member.strip()!r}",
                hint="write it as key=value,key2=value2 (percent-encode commas and '=' in values)",
            )
        attributes[key.strip()] = unquote(value.strip())
    return attributes


def _exporters(environ: Mapping[str, str], signal: str) -> tuple[str, ...]:
    variable = f"OTEL_{_SIGNALS[signal]}_EXPORTER"
    raw = environ.get(variable, "").strip()
    if not raw:
        endpoint = (
            environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
            or environ.get(f"OTEL_EXPORTER_OTLP_{_SIGNALS[signal]}_ENDPOINT", "").strip()
        )
        return ("otlp",) if endpoint else ()
    names: list[str] = []
    for name in (part.strip().lower() for part in raw.split(",")):
        if name in ("", "none"):
            continue
        if name not in EXPORTERS:
            raise TelemetryConfigError(
                f"{variable}={raw!r}: tasker-ctl has no '{name}' exporter",
                hint=f"use {', '.join(EXPORTERS)} or none (several separated by commas)",
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def _protocol(environ: Mapping[str, str], signal: str, exporters: tuple[str, ...]) -> str:
    if "otlp" not in exporters:
        return "http/protobuf"
    variable = f"OTEL_EXPORTER_OTLP_{_SIGNALS[signal]}_PROTOCOL"
    protocol = (
        environ.get(variable, "").strip() or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip()
    )
    if not protocol:
        return "http/protobuf"
    if protocol not in OTLP_PROTOCOLS:
        raise TelemetryConfigError(
            f"OTLP protocol {protocol!r} is not supported",
            hint=f"set OTEL_EXPORTER_OTLP_PROTOCOL to {' or '.join(OTLP_PROTOCOLS)}",
        )
    return protocol
