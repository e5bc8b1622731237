"""The jq binding, typed loosely: it ships no type information."""

from __future__ import annotations

import importlib
from typing import Any

jq: Any = importlib.import_module("jq")
