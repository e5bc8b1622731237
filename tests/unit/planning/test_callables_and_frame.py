"""The allow-list of callables (exact names and .* globs) and the frame a fragment fills."""

from __future__ import annotations

import pytest

from tasker_ctl.errors import PlanningStepError
from tasker_ctl.planning.callables import expand, is_entry, matches, suggest
from tests.unit.planning.fragments_support import frame, template

ALLOW = ["app.checks.*", "app.Summarise"]


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("app.Summarise", True),
        ("app.checks.disk", True),
        ("app.checks.net.dns", True),
        ("app.checks", False),  # a glob needs at least one further segment
        ("app.checksum.x", False),
        ("app.Summarise.x", False),
        ("app.summarise", False),
        ("app.checks.", False),
        ("app.checks.*", False),
        ("", False),
        ("other.checks.disk", False),
    ],
)
def test_matches(name: str, allowed: bool) -> None:
    assert matches(name, ALLOW) is allowed


def test_expand_lists_the_known_callables_the_allow_list_allows_sorted() -> None:
    known = ["app.checks.z", "app.checks.a", "app.Summarise", "app.other", "app.checks.a"]
    assert expand(ALLOW, known) == ["app.Summarise", "app.checks.a", "app.checks.z"]
    assert expand([], known) == []


def test_suggest_reads_globs_as_their_prefix() -> None:
    assert suggest("app.chekcs.disk", ALLOW) == "app.checks.disk"
    assert suggest("app.Sumarise", ALLOW) == "app.Summarise"
    assert suggest("zzz", ALLOW) is None


@pytest.mark.parametrize(
    ("entry", "valid"),
    [("a.b", True), ("a.*", True), ("a", True), ("a.**", False), ("*", False), ("a b", False)],
)
def test_is_entry(entry: str, valid: bool) -> None:
    assert is_entry(entry) is valid


def test_the_frame_knows_its_block_convergence_and_upstream_steps() -> None:
    filled = frame()
    assert filled.convergence == "report"
    assert filled.block.bounds.max_steps == 25
    assert filled.upstream == frozenset({"intake"})
    assert filled.frame_steps == frozenset({"intake", "side", "plan", "report", "archive"})
    assert filled.allowed_callable("app.checks.x")
    assert not filled.allowed_callable("app.other")
    assert filled.allowed_pattern("notify")
    assert not filled.allowed_pattern("unknown")
    registered = frame(callables=frozenset({"app.checks.x"}))
    assert registered.allowed_callable("app.checks.x")
    assert not registered.allowed_callable("app.checks.y")


def test_a_frame_needs_a_planning_step() -> None:
    from tasker_ctl.planning.frame import FragmentFrame

    with pytest.raises(PlanningStepError) as error:
        FragmentFrame(template("frame"), "intake")
    assert error.value.code == "PLANNING_STEP_INVALID"
    assert error.value.hint == "planning steps: 'plan'"
    with pytest.raises(PlanningStepError, match="has no step 'plna'") as missing:
        FragmentFrame(template("frame"), "plna")
    assert missing.value.hint == "did you mean 'plan'?"
