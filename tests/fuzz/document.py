"""A parsed template or composition being mutated, and how it is read and written again."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML

from tests.fuzz.hostile import Raw

Slot = tuple[Any, Any]  # (container, key or index): where a value sits
MAX_VALUES = 1_000_000  # a document with more (shared references expanded) is not written


@dataclass
class Document:
    """Parsed data being mutated, with the raw fragments spliced in when it is written."""

    root: Any
    raws: list[Raw] = field(default_factory=list)
    duplicate_keys: list[str] = field(default_factory=list)

    def value(self, value: Any) -> Any:
        """``value`` as it can sit in the data: a placeholder for a ``Raw``."""
        if isinstance(value, Raw):
            self.raws.append(value)
            return f"__FUZZ_RAW_{len(self.raws) - 1}__"
        return value

    def duplicate_of(self, key: Any) -> str:
        """A placeholder key that is written as ``key``: the mapping then has ``key`` twice."""
        self.duplicate_keys.append(json.dumps(key if isinstance(key, str) else str(key)))
        return f"__FUZZ_KEY_{len(self.duplicate_keys) - 1}__"

    def steps(self) -> list[dict[Any, Any]]:
        steps = self.root.get("steps") if isinstance(self.root, dict) else None
        return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []

    def mapping_root(self) -> dict[Any, Any]:
        if not isinstance(self.root, dict):
            self.root = {}
        return self.root

    def invocations(self) -> list[Any]:
        """The invocations of the composition (the document's or its first composed step's),
        created when there is none."""
        if isinstance(self.root, dict) and isinstance(self.root.get("invocations"), list):
            return self.root["invocations"]  # type: ignore[no-any-return]
        composed = [s for s in self.steps() if isinstance(s.get("composition"), dict)]
        if composed:
            composition = composed[0]["composition"]
        else:
            root = self.mapping_root()
            if not isinstance(root.get("steps"), list):
                root["steps"] = []
            step: dict[str, Any] = {
                "name": "fuzz_composed",
                "handler": {"callable": "grammar:fuzz_composed"},
            }
            root["steps"].append(step)
            composition = step["composition"] = {"outcome": {"description": "fuzz"}}
        if not isinstance(composition.get("invocations"), list):
            composition["invocations"] = []
        return composition["invocations"]  # type: ignore[no-any-return]

    def resources(self) -> dict[Any, Any]:
        root = self.mapping_root()
        if not isinstance(root.get("resources"), dict):
            root["resources"] = {}
        return root["resources"]  # type: ignore[no-any-return]


def slots(root: Any, limit: int = 50_000) -> list[Slot]:
    """Every place a value sits under ``root`` (the first ``limit``, depth first)."""
    found: list[Slot] = []
    stack = [root]
    while stack and len(found) < limit:
        node = stack.pop()
        items: Iterator[tuple[Any, Any]]
        if isinstance(node, dict):
            items = iter(node.items())
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, child in items:
            found.append((node, key))
            stack.append(child)
    return found


def mappings(root: Any) -> list[dict[Any, Any]]:
    found = [root] if isinstance(root, dict) else []
    found += [c[k] for c, k in slots(root) if isinstance(c[k], dict)]
    return found


def parse_yaml(text: bytes) -> Any:
    """A seed's data (the harness's own reader: seeds are trusted files)."""
    return YAML(typ="safe", pure=True).load(text)


def serialize(doc: Document, *, as_json: bool = False) -> bytes:
    """Write the document, splicing in raw fragments and duplicated keys.

    Large documents are written as JSON text (which YAML 1.2 reads too) with the raw YAML
    fragments, all single-line flow text: the pure-Python YAML dumper takes seconds on them.
    """
    values = len(slots(doc.root, limit=MAX_VALUES + 1))
    if values > MAX_VALUES:
        raise ValueError(f"more than {MAX_VALUES:,} values to write")
    large = values > 20_000
    json_ready = all(raw.json is not None for raw in doc.raws)
    if (as_json and json_ready) or large:
        # one value a line, so that a failing case can be shrunk line by line
        text = json.dumps(doc.root, ensure_ascii=False, indent=1 if large else 2, default=str)
        for index, raw in enumerate(doc.raws):
            fragment = raw.json if as_json and json_ready else raw.yaml
            text = text.replace(f'"__FUZZ_RAW_{index}__"', fragment or "null")
    else:
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.allow_unicode = True
        yaml.width = 1 << 16
        yaml.representer.ignore_aliases = lambda data: True
        stream = io.StringIO()
        yaml.dump(doc.root, stream)
        text = stream.getvalue()
        for index, raw in enumerate(doc.raws):
            text = text.replace(f"__FUZZ_RAW_{index}__", raw.yaml)
    for index, key in enumerate(doc.duplicate_keys):
        text = text.replace(f'"__FUZZ_KEY_{index}__"', key).replace(f"__FUZZ_KEY_{index}__", key)
    return text.encode("utf-8", "surrogatepass")
