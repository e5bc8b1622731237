"""The capability vocabulary: one instance per capability, in the order documents list them.

Each capability's config model is the single source of its JSON Schema, its validation and the
config its ``execute`` runs with (see ``base.py`` for the contract).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tasker_ctl.grammar.capabilities.acquire import AcquireCapability, AcquireConfig
from tasker_ctl.grammar.capabilities.assert_ import AssertCapability, AssertConfig
from tasker_ctl.grammar.capabilities.base import Capability
from tasker_ctl.grammar.capabilities.emit import EmitCapability, EmitConfig
from tasker_ctl.grammar.capabilities.gate import GateCapability, GateConfig
from tasker_ctl.grammar.capabilities.persist import PersistCapability, PersistConfig
from tasker_ctl.grammar.capabilities.transform import TransformCapability, TransformConfig
from tasker_ctl.grammar.capabilities.validate import ValidateCapability, ValidateConfig
from tasker_ctl.grammar.errors import ApprovalPending

REGISTRY: Mapping[str, Capability] = MappingProxyType(
    {
        capability.name: capability
        for capability in (
            TransformCapability(),
            ValidateCapability(),
            AssertCapability(),
            AcquireCapability(),
            PersistCapability(),
            EmitCapability(),
            GateCapability(),
        )
    }
)
CAPABILITY_NAMES: tuple[str, ...] = tuple(REGISTRY)


def get_capability(name: str) -> Capability | None:
    """The capability called ``name`` (exact spelling), or None."""
    return REGISTRY.get(name)


__all__ = [
    "CAPABILITY_NAMES",
    "REGISTRY",
    "AcquireCapability",
    "AcquireConfig",
    "ApprovalPending",
    "AssertCapability",
    "AssertConfig",
    "EmitCapability",
    "EmitConfig",
    "GateCapability",
    "GateConfig",
    "PersistCapability",
    "PersistConfig",
    "TransformCapability",
    "TransformConfig",
    "ValidateCapability",
    "ValidateConfig",
    "get_capability",
]
