"""Which OTEL_* variables switch telemetry on, and what they configure (no OpenTelemetry)."""

from __future__ import annotations

import pytest

from tasker_ctl.telemetry import (
    TelemetryConfigError,
    TelemetrySettings,
    read_settings,
)
from tasker_ctl.telemetry.settings import parse_resource_attributes


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"},
        {"OTEL_SERVICE_NAME": "orders"},  # a name alone asks for no exporter
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "  "},
    ],
)
def test_off_unless_an_exporter_is_asked_for(environ: dict[str, str]) -> None:
    settings = read_settings(environ)
    assert not settings.enabled
    assert settings == TelemetrySettings()


def test_an_exporter_variable_switches_on_that_signal_only() -> None:
    settings = read_settings({"OTEL_TRACES_EXPORTER": "console"})
    assert settings.enabled
    assert settings.traces == ("console",)
    assert settings.metrics == ()
    metrics = read_settings({"OTEL_METRICS_EXPORTER": "Console"})
    assert (metrics.traces, metrics.metrics) == ((), ("console",))


def test_an_otlp_endpoint_makes_otlp_the_default_of_both_signals() -> None:
    settings = read_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert (settings.traces, settings.metrics) == (("otlp",), ("otlp",))
    assert settings.traces_protocol == "http/protobuf"


def test_a_signal_endpoint_switches_on_that_signal() -> None:
    settings = read_settings({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert (settings.traces, settings.metrics) == (("otlp",), ())


def test_a_named_exporter_wins_over_the_endpoint_default() -> None:
    settings = read_settings(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_METRICS_EXPORTER": "none"}
    )
    assert (settings.traces, settings.metrics) == (("otlp",), ())


def test_several_exporters_in_order_without_repeats() -> None:
    settings = read_settings({"OTEL_TRACES_EXPORTER": "console, otlp,console,none"})
    assert settings.traces == ("console", "otlp")


def test_an_unknown_exporter_is_a_coded_error() -> None:
    with pytest.raises(TelemetryConfigError) as raised:
        read_settings({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert raised.value.code == "TELEMETRY_CONFIG_INVALID"
    assert "OTEL_TRACES_EXPORTER" in raised.value.message
    assert "zipkin" in raised.value.message
    assert raised.value.hint is not None
    assert "console" in raised.value.hint


def test_the_otlp_protocol_is_read_for_otlp_only() -> None:
    grpc = read_settings({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert grpc.traces_protocol == "grpc"
    signal = read_settings(
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
        }
    )
    assert signal.traces_protocol == "http/protobuf"
    # a protocol tasker-ctl cannot speak matters only to a signal exported over OTLP
    console = read_settings(
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
    )
    assert console.traces == ("console",)
    with pytest.raises(TelemetryConfigError, match="http/json"):
        read_settings({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})


def test_the_service_name_defaults_and_precedence() -> None:
    on = {"OTEL_TRACES_EXPORTER": "console"}
    assert read_settings(on).service_name == "tasker-ctl"
    from_resource = read_settings({**on, "OTEL_RESOURCE_ATTRIBUTES": "service.name=billing"})
    assert from_resource.service_name == "billing"
    both = read_settings(
        {**on, "OTEL_RESOURCE_ATTRIBUTES": "service.name=billing", "OTEL_SERVICE_NAME": "orders"}
    )
    assert both.service_name == "orders"


def test_resource_attributes_are_pairs_with_percent_encoded_values() -> None:
    assert parse_resource_attributes(
        "deployment.environment=staging, team = data%2Cplatform,empty=,"
    ) == {"deployment.environment": "staging", "team": "data,platform", "empty": ""}
    assert parse_resource_attributes("") == {}


@pytest.mark.parametrize("text", ["justakey", "=value", "a=1,b"])
def test_a_malformed_resource_attribute_list_is_a_coded_error(text: str) -> None:
    with pytest.raises(TelemetryConfigError, match="OTEL_RESOURCE_ATTRIBUTES"):
        read_settings({"OTEL_TRACES_EXPORTER": "console", "OTEL_RESOURCE_ATTRIBUTES": text})
