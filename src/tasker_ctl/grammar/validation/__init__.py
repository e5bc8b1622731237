"""Design-time validation of compositions: Tasker Core's checks in its order and with its
codes, plus data contracts (paths each expression reads), sound schema compatibility and a
configurable mutation policy."""

from __future__ import annotations

from tasker_ctl.grammar.validation.contract import (
    MUTATION_POLICIES,
    STEP_SCHEMA,
    MutationPolicy,
    StepContract,
)
from tasker_ctl.grammar.validation.findings import CompositionFinding, CompositionReport
from tasker_ctl.grammar.validation.schema_compat import CompatIssue, check_compatibility
from tasker_ctl.grammar.validation.validator import validate_composition

__all__ = [
    "MUTATION_POLICIES",
    "STEP_SCHEMA",
    "CompatIssue",
    "CompositionFinding",
    "CompositionReport",
    "MutationPolicy",
    "StepContract",
    "check_compatibility",
    "validate_composition",
]
