"""The handler error hierarchy: attributes, metadata and retry classification."""

from __future__ import annotations

import builtins

import pytest

from tasker_ctl.sdk import errors
from tasker_ctl.sdk.errors import (
    FFIError,
    PermanentError,
    RetryableError,
    TaskerError,
    failure_for_exception,
    is_permanent,
    is_retryable,
)

RETRYABLE = [
    errors.TimeoutError,
    errors.NetworkError,
    errors.RateLimitError,
    errors.ServiceUnavailableError,
    errors.ResourceContentionError,
]
PERMANENT = [
    errors.ValidationError,
    errors.NotFoundError,
    errors.AuthenticationError,
    errors.AuthorizationError,
    errors.ConfigurationError,
    errors.BusinessLogicError,
]


@pytest.mark.parametrize("cls", RETRYABLE)
def test_retryable_subclasses(cls: type[RetryableError]) -> None:
    assert issubclass(cls, RetryableError)
    assert cls("x").retryable is True


@pytest.mark.parametrize("cls", PERMANENT)
def test_permanent_subclasses(cls: type[PermanentError]) -> None:
    assert issubclass(cls, PermanentError)
    assert cls("x").retryable is False


def test_base_classes() -> None:
    assert issubclass(RetryableError, TaskerError)
    assert issubclass(PermanentError, TaskerError)
    assert FFIError("x").retryable is True
    assert TaskerError("x").retryable is True
    assert errors.TimeoutError is not builtins.TimeoutError


def test_constructor_semantics() -> None:
    error = RetryableError(
        message="gateway busy",
        retry_after=30,
        error_code="BUSY",
        metadata={"a": 1},
        context={"order_id": "o-1"},
    )
    assert str(error) == "gateway busy"
    assert error.message == "gateway busy"
    assert error.error_code == "BUSY"
    assert error.retry_after == 30
    assert error.metadata == {"a": 1, "error_code": "BUSY", "retry_after": 30, "order_id": "o-1"}
    assert error.to_dict() == {
        "error_type": "RetryableError",
        "message": "gateway busy",
        "retryable": True,
        "metadata": error.metadata,
    }


def test_retryable_override_and_defaults() -> None:
    assert PermanentError("x", retryable=True).retryable is True
    assert RetryableError("x", retryable=False).retryable is False
    plain = PermanentError("x")
    assert (plain.metadata, plain.error_code, plain.retry_after) == ({}, None, None)


def test_metadata_argument_is_copied() -> None:
    metadata = {"a": 1}
    PermanentError("x", metadata=metadata, error_code="E")
    assert metadata == {"a": 1}


def test_positional_only_message() -> None:
    with pytest.raises(TypeError):
        TaskerError("x", True)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (PermanentError("x"), False),
        (errors.ValidationError("x"), False),
        (RetryableError("x"), True),
        (PermanentError("x", retryable=True), True),
        (ValueError("x"), False),
        (KeyError("x"), False),
        (TypeError("x"), False),
        (NotImplementedError("x"), False),
        (ConnectionResetError("x"), True),
        (builtins.TimeoutError("x"), True),
        (OSError("x"), True),
        (RuntimeError("x"), True),
    ],
)
def test_is_retryable(exc: Exception, retryable: bool) -> None:
    assert is_retryable(exc) is retryable
    assert is_permanent(exc) is not retryable


def test_explicit_retryable_attribute_wins() -> None:
    class Flagged(ValueError):
        retryable = True

    assert is_retryable(Flagged("x"))


def test_failure_for_exception_classifies_as_intended() -> None:
    failure = failure_for_exception(errors.NotFoundError("no such order", error_code="MISSING"))
    assert not failure.is_success
    assert failure.error_type == "NotFoundError"
    assert failure.error_message == "no such order"
    assert failure.retryable is False
    assert failure.error_code == "MISSING"
    assert failure.metadata["error_code"] == "MISSING"
    assert "traceback" in failure.metadata


def test_failure_for_unknown_exception_is_retryable() -> None:
    failure = failure_for_exception(RuntimeError("flaky"))
    assert (failure.error_type, failure.retryable) == ("RuntimeError", True)
