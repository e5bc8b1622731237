"""The ancestors' results a handler sees, read from the database only as far as it looks.

Tasker Core hands a handler the stored result of *every* completed ancestor of its step, not
only its parents'. Reading them all for every claim makes each step of a long chain cost in
proportion to its depth. A claim therefore brings the parents' results (what handlers read
nearly always) and a loader; the other ancestors' results are read, once, the first time a
handler asks for a name that is not a parent's or looks at the whole mapping (iterating,
counting, comparing, copying, serializing). To the handler it is a dict with all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Loader = Callable[[], Mapping[str, Any]]


class AncestorResults(dict[str, Any]):
    """Step name -> stored result envelope of every completed ancestor.

    Holds the parents' results from the start; ``load`` (when there are other ancestors)
    returns all of them and is called at most once.
    """

    def __init__(self, parents: Mapping[str, Any], load: Loader | None = None) -> None:
        super().__init__(parents)
        self._load = load
        self._lock = threading.Lock()

    def everything(self) -> dict[str, Any]:
        """Every completed ancestor's result envelope, by step name (read once)."""
        self._ensure_all()
        return dict(self.items())

    @property
    def complete(self) -> bool:
        """Whether every ancestor's result is in memory."""
        return self._load is None

    def _ensure_all(self) -> None:
        if self._load is None:
            return
        with self._lock:
            load = self._load
            if load is None:
                return
            everything = load()
            dict.update(self, everything)
            self._load = None

    def _has(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        self._ensure_all()
        return dict.__contains__(self, key)

    # lookups answer from the parents when they can
    def __getitem__(self, key: str) -> Any:
        self._has(key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key, default) if self._has(key) else default

    def __contains__(self, key: object) -> bool:
        return self._has(key)

    # anything that sees the whole mapping loads it first
    def __iter__(self) -> Iterator[str]:
        self._ensure_all()
        return dict.__iter__(self)

    def __reversed__(self) -> Iterator[str]:
        self._ensure_all()
        return dict.__reversed__(self)

    def __len__(self) -> int:
        self._ensure_all()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._ensure_all()
        return dict.keys(self)

    def values(self) -> Any:
        self._ensure_all()
        return dict.values(self)

    def items(self) -> Any:
        self._ensure_all()
        return dict.items(self)

    def copy(self) -> dict[str, Any]:
        self._ensure_all()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self._ensure_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def __repr__(self) -> str:
        self._ensure_all()
        return dict.__repr__(self)

    def __or__(self, other: Any) -> Any:
        return self.copy() | other

    def __ror__(self, other: Any) -> Any:
        return other | self.copy()

    def __ior__(self, other: Any) -> AncestorResults:  # type: ignore[override]
        self.update(other)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # pickles, deep copies and the like get a plain dict with everything
        return (dict, (self.copy(),))

    # mutations act on the whole mapping
    def __setitem__(self, key: str, value: Any) -> None:
        self._ensure_all()
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        self._ensure_all()
        dict.__delitem__(self, key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._ensure_all()
        return dict.setdefault(self, key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self._ensure_all()
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Any]:
        self._ensure_all()
        return dict.popitem(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._ensure_all()
        dict.update(self, *args, **kwargs)

    def clear(self) -> None:
        self._ensure_all()
        dict.clear(self)
