"""tasker-ctl: the developer toolchain for Tasker-style workflows.

The public API lives in the subpackages (``tasker_ctl.template`` first); this module stays
import-light so that ``tasker-ctl --version`` starts fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
