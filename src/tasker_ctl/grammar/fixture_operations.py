"""Operations answered from fixture data, so a composition can run for real without a world.

Used by ``composition explain`` with a simulation: acquire reads the fixture records of its
entity (``fixture_data[entity]``), persist echoes its data, emit answers as the engine's outbox
does (``message_id``, ``event_name``, ``payload``), and a gate is
approved. A mock output for an invocation index replaces the data that invocation's operation
returns (its ``result_shape`` then applies as usual).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from tasker_ctl.grammar.validation.findings import CompositionFinding, finding

SIMULATED_APPROVER = "simulation"
SIMULATED_DECISION_TIME = "1970-01-01T00:00:00Z"


class FixtureOperations:
    """An ``Operations`` implementation over fixture data and mock outputs."""

    def __init__(
        self,
        *,
        fixture_data: Mapping[str, Any] | None = None,
        mock_outputs: Mapping[int, Any] | None = None,
        spec: Mapping[str, Any] | None = None,
    ) -> None:
        self.fixture_data = dict(fixture_data or {})
        self.mock_outputs = {int(key): value for key, value in (mock_outputs or {}).items()}
        invocations = spec.get("invocations") if isinstance(spec, Mapping) else None
        self._invocations = [
            item if isinstance(item, Mapping) else {}
            for item in (invocations if isinstance(invocations, list) else [])
        ]
        self.mocked: set[int] = set()
        self.findings: list[CompositionFinding] = []

    def _mock(self, index: int) -> tuple[bool, Any]:
        if index in self.mock_outputs:
            self.mocked.add(index)
            return True, copy.deepcopy(self.mock_outputs[index])
        return False, None

    # -- the Operations protocol ----------------------------------------------------------------

    def acquire(
        self,
        resource: str,
        entity: str,
        params: Mapping[str, Any],
        constraints: Mapping[str, Any],
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        index = invocation_index
        mocked, data = self._mock(index)
        if mocked:
            return {"data": data, "total_count": len(data) if isinstance(data, list) else None}
        if entity not in self.fixture_data:
            self.findings.append(
                finding(
                    "MISSING_MOCK_OUTPUT",
                    f"invocation[{index}] (acquire): no fixture data for entity '{entity}' of "
                    f"resource '{resource}' and no mock output; it read null",
                    hint=f"add acquire_fixture_data.{entity} or a mock output for invocation "
                    f"{index}",
                    index=index,
                    path=("invocations", index),
                )
            )
            return {"data": None, "total_count": None}
        data = copy.deepcopy(self.fixture_data[entity])
        if not isinstance(data, list):
            return {"data": data, "total_count": None if data is None else 1}
        rows = [row for row in data if _matches(row, constraints.get("filter"))]
        total = len(rows)
        offset = constraints.get("offset")
        limit = constraints.get("limit")
        if isinstance(offset, int) and offset > 0:
            rows = rows[offset:]
        if isinstance(limit, int) and limit >= 0:
            rows = rows[:limit]
        return {"data": rows, "total_count": total}

    def persist(
        self,
        resource: str,
        entity: str,
        data: Any,
        constraints: Mapping[str, Any],
        idempotency_key: str,
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        mocked, output = self._mock(invocation_index)
        return {"data": output if mocked else copy.deepcopy(data), "affected_count": 1}

    def emit(
        self,
        resource: str,
        event_name: str,
        payload: Any,
        metadata: Mapping[str, Any],
        idempotency_key: str,
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        mocked, output = self._mock(invocation_index)
        if not mocked:  # what the engine's outbox answers, with a made-up id
            output = {
                "message_id": f"simulated-{invocation_index}",
                "event_name": event_name,
                "payload": copy.deepcopy(payload),
                "duplicate": False,
            }
        return {"data": output, "confirmed": True}

    def gate_decision(self, invocation_index: int) -> Mapping[str, Any] | None:
        config = (
            self._invocations[invocation_index].get("config")
            if 0 <= invocation_index < len(self._invocations)
            else None
        )
        approvers = config.get("approvers") if isinstance(config, Mapping) else None
        by = approvers[0] if isinstance(approvers, list) and approvers else SIMULATED_APPROVER
        return {
            "decision": "approved",
            "by": str(by),
            "reason": "approved by simulation",
            "at": SIMULATED_DECISION_TIME,
        }


def _matches(row: Any, conditions: Any) -> bool:
    """Whether a fixture record passes acquire's static filter (unknown operators pass)."""
    if not isinstance(conditions, Mapping):
        return True
    if not isinstance(row, Mapping):
        return False
    for name, operators in conditions.items():
        if not isinstance(operators, Mapping):
            continue
        value = row.get(name)
        for operator, expected in operators.items():
            if expected is None and operator not in ("eq", "neq", "is_null"):
                continue
            if not _holds(operator, value, expected):
                return False
    return True


def _holds(operator: str, value: Any, expected: Any) -> bool:
    try:
        if operator == "eq":
            return bool(value == expected)
        if operator == "neq":
            return bool(value != expected)
        if operator == "in":
            return isinstance(expected, list) and value in expected
        if operator == "not_in":
            return isinstance(expected, list) and value not in expected
        if operator == "is_null":
            return (value is None) is bool(expected)
        if operator == "like":
            pattern = "".join(
                ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(expected)
            )
            return isinstance(value, str) and re.fullmatch(pattern, value) is not None
        if value is None:
            return False
        comparisons = {
            "gt": lambda: value > expected,
            "gte": lambda: value >= expected,
            "lt": lambda: value < expected,
            "lte": lambda: value <= expected,
        }
        check = comparisons.get(operator)
        return True if check is None else bool(check())
    except TypeError:
        return False
