"""Schema-guided rewriting for ``validate``: coercion of loosely typed input and removal of
undeclared properties.

Data crossing a trust boundary (a CSV import, a form post, a legacy API) often carries numbers
as strings and dates in local notations. Coercion turns such values into the type the schema
declares, and only when the conversion is unambiguous; a value that cannot be converted is left
as it is, so the schema check that follows reports it.

Rules, applied recursively through ``properties``, ``additionalProperties`` (when a schema),
``prefixItems`` and ``items`` down to ``MAX_DEPTH`` levels:

* a string becomes an integer, a number or a boolean when the schema's ``type`` asks for one
  and not for ``string`` (``"42"``, ``"-1.5e3"``, ``"TRUE"``; integers also from ``"5.0"``);
* a string with ``format: date-time`` becomes an RFC 3339 timestamp in UTC
  (``2024-03-01T09:30:00Z``) from RFC 3339 with any offset, naive ISO (``2024-03-01T09:30`` or
  with a space, read as UTC), a date alone (midnight UTC), ``MM/DD/YYYY``, ``DD.MM.YYYY`` or
  epoch seconds, fractional ones included;
* a string with ``format: date`` becomes ``YYYY-MM-DD`` from the same notations (instants with
  an offset are converted to UTC first);
* a number or boolean becomes a string when the schema's ``type`` is ``string`` (a number under
  ``format: date-time`` or ``date`` is read as epoch seconds).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

MAX_DEPTH = 32

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_EPOCH = re.compile(r"[+-]?\d+(\.\d+)?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?"
)
_EPOCH_START = datetime(1970, 1, 1, tzinfo=UTC)


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def _zone(text: str | None) -> timezone:
    if text is None or text in {"Z", "z"}:
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(sign * offset)


def _from_epoch(seconds: Decimal) -> datetime | None:
    if not seconds.is_finite():
        return None
    whole = int(seconds.to_integral_value(rounding=ROUND_FLOOR))
    micros = int((seconds - whole) * 1_000_000)
    try:
        return _EPOCH_START + timedelta(seconds=whole, microseconds=micros)
    except (OverflowError, ValueError):
        # beyond the years 1..9999 a timestamp names no representable instant
        return None


def parse_instant(text: str) -> datetime | None:
    """The UTC instant a date-time notation denotes, or None when it is none of the accepted
    notations (see the module docstring)."""
    text = text.strip()
    try:
        if match := _DATE_TIME.fullmatch(text):
            year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
            second = int(match.group(6) or 0)
            micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
            zone = _zone(match.group("zone"))
            moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
            return moment.astimezone(UTC)
        if match := _DATE.fullmatch(text):
            year, month, day = (int(g) for g in match.groups())
            return datetime(year, month, day, tzinfo=UTC)
        if match := _US_DATE.fullmatch(text):
            month, day, year = (int(g) for g in match.groups())
            return datetime(year, month, day, tzinfo=UTC)
        if match := _DOTTED_DATE.fullmatch(text):
            day, month, year = (int(g) for g in match.groups())
            return datetime(year, month, day, tzinfo=UTC)
        if _EPOCH.fullmatch(text):
            return _from_epoch(Decimal(text))
    except (ValueError, OverflowError, InvalidOperation):
        # a well-formed notation naming no real moment (February 30th, hour 25)
        return None
    return None


def format_instant(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; fractional seconds only when present, in groups of three."""
    moment = moment.astimezone(UTC)
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if moment.microsecond:
        if moment.microsecond % 1000 == 0:
            text += f".{moment.microsecond // 1000:03d}"
        else:
            text += f".{moment.microsecond:06d}"
    return text + "Z"


def format_date(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def coerce_date_time(text: str) -> str | None:
    moment = parse_instant(text)
    return None if moment is None else format_instant(moment)


def coerce_date(text: str) -> str | None:
    moment = parse_instant(text)
    return None if moment is None else format_date(moment.date())


def _string_to(text: str, types: list[str]) -> Any:
    stripped = text.strip()
    if "integer" in types:
        if _INTEGER.fullmatch(stripped):
            return int(stripped)
        if _NUMBER.fullmatch(stripped):
            number = float(stripped)
            if number.is_integer() and abs(number) < 2**63:
                return int(number)
    if "number" in types and _NUMBER.fullmatch(stripped):
        if _INTEGER.fullmatch(stripped):
            return int(stripped)
        number = float(stripped)
        if number not in {float("inf"), float("-inf")}:
            return number
    if "boolean" in types and stripped.lower() in {"true", "false"}:
        return stripped.lower() == "true"
    return text


def _normalize_format(text: str, schema_format: Any) -> str:
    if schema_format == "date-time":
        return coerce_date_time(text) or text
    if schema_format == "date":
        return coerce_date(text) or text
    return text


def _scalar_to_string(value: int | float | bool, schema_format: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if schema_format in {"date-time", "date"}:
        moment = _from_epoch(Decimal(str(value)))
        if moment is not None:
            return format_instant(moment) if schema_format == "date-time" else format_date(moment)
    return str(value)


def coerce(value: Any, schema: Any, depth: int = 0) -> Any:
    """``value`` with every coercible part converted to what ``schema`` declares; the input is
    not modified."""
    if depth > MAX_DEPTH or not isinstance(schema, Mapping):
        return value
    types = _types(schema)
    schema_format = schema.get("format")
    if isinstance(value, str):
        if not types or "string" in types:
            return _normalize_format(value, schema_format)
        return _string_to(value, types)
    if isinstance(value, bool | int | float):
        scalar_types = {"boolean"} if isinstance(value, bool) else {"integer", "number"}
        if "string" in types and not scalar_types & set(types):
            return _scalar_to_string(value, schema_format)
        return value
    if isinstance(value, Mapping):
        return _coerce_object(value, schema, depth)
    if isinstance(value, list):
        return _coerce_array(value, schema, depth)
    return value


def _coerce_object(value: Mapping[str, Any], schema: Mapping[str, Any], depth: int) -> Any:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    extra = schema.get("additionalProperties")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key in properties:
            result[key] = coerce(item, properties[key], depth + 1)
        elif isinstance(extra, Mapping):
            result[key] = coerce(item, extra, depth + 1)
        else:
            result[key] = item
    return result


def _coerce_array(value: list[Any], schema: Mapping[str, Any], depth: int) -> Any:
    prefix = schema.get("prefixItems")
    prefix = prefix if isinstance(prefix, list) else []
    items = schema.get("items")
    result = []
    for index, item in enumerate(value):
        if index < len(prefix):
            result.append(coerce(item, prefix[index], depth + 1))
        elif isinstance(items, Mapping):
            result.append(coerce(item, items, depth + 1))
        else:
            result.append(item)
    return result


def drop_undeclared(value: Any, schema: Any, depth: int = 0) -> Any:
    """``value`` without the object properties ``schema`` does not declare, recursively.

    An object schema that declares no ``properties`` (nor ``patternProperties``), or whose
    ``additionalProperties`` is itself a schema, declares its extra keys as welcome, so they are
    kept; the input is not modified.
    """
    if depth > MAX_DEPTH or not isinstance(schema, Mapping):
        return value
    if isinstance(value, Mapping):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        patterns = schema.get("patternProperties")
        patterns = patterns if isinstance(patterns, Mapping) else {}
        extra = schema.get("additionalProperties")
        open_object = (not properties and not patterns) or isinstance(extra, Mapping)
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key in properties:
                result[key] = drop_undeclared(item, properties[key], depth + 1)
            elif matched := _matching_pattern(key, patterns):
                result[key] = drop_undeclared(item, matched, depth + 1)
            elif open_object:
                sub = extra if isinstance(extra, Mapping) else None
                result[key] = drop_undeclared(item, sub, depth + 1) if sub else item
        return result
    if isinstance(value, list):
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items")
        return [
            drop_undeclared(item, prefix[i] if i < len(prefix) else items, depth + 1)
            for i, item in enumerate(value)
        ]
    return value


def _matching_pattern(key: str, patterns: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for pattern, sub in patterns.items():
        try:
            if re.search(pattern, key) and isinstance(sub, Mapping):
                return sub
        except re.error:
            continue
    return None
