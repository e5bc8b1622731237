"""What an attempt's outcome may store: its result checked, its text and metadata bounded.

Whatever a handler returns or raises, the envelope the executor hands the worker is storable
``jsonb`` of bounded size, and a failure names its real cause:

* a success whose result cannot be stored (``tasker_ctl.storable``) becomes a permanent
  failure, ``result_not_storable`` / ``RESULT_NOT_STORABLE``, or ``result_too_large`` /
  ``RESULT_TOO_LARGE`` past the size limit, naming the JSON path and the problem;
* a ``BaseException`` from a handler (``SystemExit``, ``KeyboardInterrupt``,
  ``GeneratorExit``, a class of its own) is a permanent ``handler_aborted`` failure;
* messages, error types and codes, and tracebacks are cut to a length with a note of what was
  cut, and characters PostgreSQL cannot store are replaced;
* members of error or custom metadata that cannot be stored, or do not fit in its budget, are
  left out and named in a ``not_stored`` note: the failure is recorded all the same;
* a failure's transition keeps the error's type, code and message too (``failure_note``).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Mapping
from typing import Any, Final

from tasker_ctl.engine.errors import NotStorableError
from tasker_ctl.sdk.errors import failure_for_exception, is_retryable
from tasker_ctl.sdk.types import StepHandlerResult
from tasker_ctl.storable import (
    KIB,
    StorableLimits,
    Unstorable,
    storable_text,
    stored_size,
)

MESSAGE_LIMIT: Final = 8 * KIB  # characters of an error message
NAME_LIMIT: Final = 200  # characters of an error_type or error_code
TRACEBACK_LIMIT: Final = 16 * KIB  # characters of a traceback (its start and its end)
METADATA_LIMIT: Final = 64 * KIB  # bytes of JSON of the error metadata, and of the custom
NOTE_LIMIT: Final = 500  # characters of each reason in a not_stored note
NOTED_MEMBERS: Final = 20  # members named in a not_stored note, at most


def not_storable(step_name: str, problem: Unstorable) -> StepHandlerResult:
    """The permanent failure of a success whose result (or checkpoint) cannot be stored."""
    kind = "result_too_large" if problem.too_large else "result_not_storable"
    return StepHandlerResult.failure(
        storable_text(f"result of step '{step_name}' cannot be stored: {problem}", MESSAGE_LIMIT),
        error_type=kind,
        retryable=False,
        error_code=kind.upper(),
        metadata={"path": storable_text(problem.path, NOTE_LIMIT)},
    )


def failure_for(error: Exception) -> StepHandlerResult:
    """``failure_for_exception``, for any exception: one whose message or traceback cannot be
    read is still a failure, named by its class."""
    if isinstance(error, NotStorableError):
        return not_storable(error.step_name, error.problem)
    try:
        return failure_for_exception(error)
    except Exception as unreadable:
        try:
            retryable = is_retryable(error)
        except Exception:
            retryable = True  # unclassifiable: retried, as unknown errors are
        return StepHandlerResult.failure(
            f"{_class_name(error)} (its message cannot be read: "
            f"{_class_name(unreadable)} while reading it)",
            error_type=_class_name(error),
            retryable=retryable,
        )


def aborted(error: BaseException) -> StepHandlerResult:
    """The permanent failure of a handler that raised a ``BaseException``."""
    name = _class_name(error)
    text = readable(error)
    return StepHandlerResult.failure(
        f"handler aborted with {name}: {text}" if text else f"handler aborted with {name}",
        error_type="handler_aborted",
        retryable=False,
        error_code="HANDLER_ABORTED",
        metadata={"exception_type": name, "traceback": _traceback(error)},
    )


def stored_text(value: Any, limit: int) -> str:
    """``value`` as text that can be stored: at most ``limit`` characters, with a note."""
    return storable_text(value if isinstance(value, str) else readable(value), limit)


def stored_code(value: Any) -> str | None:
    """An ``error_code`` as it is stored: text (a handler may give a number), or None."""
    return None if value is None else stored_text(value, NAME_LIMIT)


def stored_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata`` as it can be stored: members that cannot be stored, or that do not fit in
    ``METADATA_LIMIT`` bytes of JSON, are left out and named (with why) under ``not_stored``.
    A traceback is cut to ``TRACEBACK_LIMIT`` characters first."""
    kept: dict[str, Any] = {}
    left_out: dict[str, str] = {}
    remaining = METADATA_LIMIT - 2  # its braces
    try:
        members = list(metadata.items())
    except Exception as error:
        return {"not_stored": {"$": f"the metadata cannot be read: {_class_name(error)}"}}
    for key, value in members:
        if key == "traceback" and isinstance(value, str):
            value = storable_text(value, TRACEBACK_LIMIT, keep_end=True)
        # measured as a one-member object: its path reads $.key, and it costs its key too
        size = stored_size({key: value}, StorableLimits(max_bytes=max(remaining + 2, 2)))
        if isinstance(size, Unstorable):
            name = key if isinstance(key, str) else f"<{_class_name(key)} key>"
            if len(left_out) < NOTED_MEMBERS:
                left_out[storable_text(name, NAME_LIMIT)] = storable_text(str(size), NOTE_LIMIT)
            continue
        kept[key] = value
        remaining -= size - 2 + 1  # without the braces, with a comma
    if left_out:
        kept["not_stored"] = left_out
    return kept


def retry_after_of(value: Any) -> float | None:
    """A handler's ``retry_after`` seconds when they are a finite number of at least 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def readable(value: Any) -> str:
    """``str(value)``, or a description when that raises (an exception's ``__str__`` can)."""
    try:
        text = str(value)
    except Exception as error:
        return f"<{_class_name(value)}: str() raised {_class_name(error)}>"
    return text


def _traceback(error: BaseException) -> str:
    try:
        text = "".join(traceback.format_exception(error))
    except Exception:
        return ""
    return storable_text(text, TRACEBACK_LIMIT, keep_end=True)


def _class_name(value: Any) -> str:
    name = getattr(type(value), "__name__", "object")
    return storable_text(name if isinstance(name, str) else "object", NAME_LIMIT)


def failure_note(envelope: dict[str, Any]) -> dict[str, Any]:
    """What a failure's transition keeps of its error (type, code, message, retryable): the
    step stores only its last result, so an earlier attempt's error is known from here
    (``task audit``)."""
    error = envelope.get("error")
    if not isinstance(error, dict):
        return {}
    metadata = envelope.get("metadata")
    code = metadata.get("error_code") if isinstance(metadata, dict) else None
    note = {
        "error_type": error.get("error_type"),
        "error_code": code,
        "message": error.get("message"),
        "retryable": error.get("retryable"),
    }
    return {"error": note}
