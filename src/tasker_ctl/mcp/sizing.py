"""Context economy: answers kept under the response cap, lists paged, and big documents cut
with a note of what was cut and how to get the rest.

An answer travels twice (as structured content and as its JSON text for clients that read only
text), so a document is held to half the 80 KB response cap. A tool with a top-level list
(``ToolSpec.pages``) answers a page of it with a ``page`` block and a signed cursor; any other
document too big is cut (its largest lists and strings shortened, longest first) and its ``cut``
block names each path cut and the command that prints it whole.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DOCUMENT_BYTES", "MAX_RESPONSE_BYTES", "cut_to_fit", "page_of", "size_of"]

MAX_RESPONSE_BYTES = 80 * 1024
# the structured content and its text copy, plus the envelope
MAX_DOCUMENT_BYTES = (MAX_RESPONSE_BYTES - 2048) // 2
_CUT_MARK = "... [cut]"


def size_of(document: Any) -> int:
    return len(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def page_of(
    document: dict[str, Any], field: str, offset: int, limit: int
) -> tuple[dict[str, Any], int | None]:
    """The part of ``document`` whose ``field`` list starts at ``offset`` and fits ``limit``
    bytes (at least one item), and the offset of the next page (None: the last)."""
    items = document.get(field)
    if not isinstance(items, list):
        return document, None
    total = len(items)
    rest = items[offset:]
    low, high = 1, max(1, len(rest))
    # the largest count of items that fits, by bisection (sizes grow with the count)
    while low < high:
        middle = (low + high + 1) // 2
        if size_of({**document, field: rest[:middle]}) <= limit:
            low = middle
        else:
            high = middle - 1
    count = min(low, len(rest))
    following = offset + count
    return {**document, field: rest[:count]}, (following if following < total else None)


def cut_to_fit(document: Any, limit: int) -> tuple[Any, list[dict[str, Any]]]:
    """``document`` with its largest lists and strings shortened until it fits ``limit``
    bytes, and where each cut was made (JSON pointer, what was kept of how much)."""
    cuts: dict[str, dict[str, Any]] = {}
    current = document
    for _ in range(200):
        if size_of(current) <= limit:
            break
        pointer, size = _largest(current, "")
        if pointer is None:
            break
        current = _shorten(current, pointer, cuts, size)
    return current, list(cuts.values())


def _largest(value: Any, pointer: str) -> tuple[str | None, int]:
    """The pointer of the biggest cuttable node (a list of 2+ items or a long string)."""
    best: tuple[str | None, int] = (None, 0)
    if isinstance(value, dict):
        children: list[tuple[str, Any]] = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        children = [(str(index), item) for index, item in enumerate(value)]
    else:
        children = []
    for key, child in children:
        found = _largest(child, f"{pointer}/{_escape(key)}")
        if found[1] > best[1]:
            best = found
    own = size_of(value)
    cuttable = (isinstance(value, list) and len(value) > 1) or (
        isinstance(value, str) and len(value) > 200
    )
    # a container is cut itself only when no child alone holds most of it
    if cuttable and own > 2 * best[1]:
        return pointer, own
    return best


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _shorten(document: Any, pointer: str, cuts: dict[str, dict[str, Any]], size: int) -> Any:
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    if not parts:
        return _halve(document, pointer, cuts)
    root = json.loads(json.dumps(document))
    parent = root
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
    parent[last] = _halve(parent[last], pointer, cuts)
    return root


def _halve(value: Any, pointer: str, cuts: dict[str, dict[str, Any]]) -> Any:
    entry = cuts.setdefault(
        pointer,
        {"path": pointer or "/", "total": len(value), "kept": len(value)},
    )
    kept = max(1, len(value) // 2) if isinstance(value, list) else max(100, len(value) // 2)
    entry["kept"] = kept
    if isinstance(value, list):
        return value[:kept]
    return value[: kept - len(_CUT_MARK)] + _CUT_MARK
