"""AncestorResults: parents answer at once; anything beyond them loads every ancestor once."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from tasker_ctl.engine.worker.ancestors import AncestorResults

PARENTS = {"parent": {"result": 1}}
EVERYTHING = {"grandparent": {"result": 0}, "parent": {"result": 1}}


class CountingLoader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return dict(EVERYTHING)


@pytest.fixture
def loader() -> CountingLoader:
    return CountingLoader()


def test_a_parent_is_read_without_loading(loader: CountingLoader) -> None:
    results = AncestorResults(PARENTS, loader)
    assert results["parent"] == {"result": 1}
    assert results.get("parent") == {"result": 1}
    assert "parent" in results
    assert loader.calls == 0
    assert not results.complete


@pytest.mark.parametrize(
    "look",
    [
        lambda r: r["grandparent"],
        lambda r: r.get("grandparent"),
        lambda r: "grandparent" in r,
        lambda r: list(r),
        lambda r: len(r),
        lambda r: list(r.items()),
        lambda r: list(r.keys()),
        lambda r: list(r.values()),
        lambda r: dict(r),
        lambda r: {**r},
        lambda r: r.copy(),
        lambda r: json.loads(json.dumps(r)),
        lambda r: copy.deepcopy(r),
        lambda r: pickle.loads(pickle.dumps(r)),
        lambda r: r == EVERYTHING,
        lambda r: repr(r),
        lambda r: r | {},
    ],
)
def test_looking_beyond_the_parents_loads_everything_once(
    loader: CountingLoader, look: Any
) -> None:
    results = AncestorResults(PARENTS, loader)
    look(results)
    assert loader.calls == 1
    assert results.complete
    assert dict(results) == EVERYTHING
    assert json.loads(json.dumps(results)) == EVERYTHING
    assert loader.calls == 1


def test_a_missing_name_is_missing_after_loading(loader: CountingLoader) -> None:
    results = AncestorResults(PARENTS, loader)
    assert results.get("nobody") is None
    with pytest.raises(KeyError):
        results["nobody"]
    assert loader.calls == 1


def test_without_other_ancestors_nothing_is_loaded() -> None:
    results = AncestorResults(PARENTS)
    assert results.complete
    assert dict(results) == PARENTS
    assert results.get("grandparent") is None


def test_mutations_apply_to_the_whole_mapping(loader: CountingLoader) -> None:
    results = AncestorResults(PARENTS, loader)
    results["extra"] = {"result": 2}
    assert loader.calls == 1
    assert set(results) == {"grandparent", "parent", "extra"}
    results |= {"more": {}}
    assert "more" in results
    assert results.pop("extra") == {"result": 2}


def test_a_failing_load_is_tried_again_on_the_next_look() -> None:
    attempts: list[int] = []

    def flaky() -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("database went away")
        return dict(EVERYTHING)

    results = AncestorResults(PARENTS, flaky)
    with pytest.raises(ConnectionError):
        len(results)
    assert len(results) == 2
    assert len(attempts) == 2
